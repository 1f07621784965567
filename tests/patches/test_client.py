"""The agent client: keys, canonical signing, diffs the server applies, submit/status/wait/target."""

from __future__ import annotations

import json
import stat
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from patches import client as agent_client
from patches.client import AgentClient, Answer, ApiError
from patches.client.__main__ import main
from patches.formats import apply_patch
from patches.formats.unified_diff import apply_unified_diff, make_unified_diff
from patches.models import Proposal
from patches.signing import key_id_of, load_public_key_pem
from tests.factories import PROMPT, ROUTING, make_target
from tests.standalone import frameworks_loaded_by


def django_transport(client: Client):
    def send(method: str, url: str, headers: dict[str, str], body: bytes | None) -> Answer:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        extra = {
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in headers.items()
            if name.lower() != "content-type"
        }
        response = client.generic(
            method,
            path,
            data=body or b"",
            content_type=headers.get("Content-Type", "application/json"),
            **extra,
        )
        return Answer(
            response.status_code, {k.lower(): v for k, v in response.items()}, response.content
        )

    return send


@pytest.fixture
def registered(db, tmp_path, settings):
    """An agent registered with a key made by the client's keygen (as docs/client.md shows)."""
    settings.VAR_DIR = tmp_path / "var"
    key_file = tmp_path / "agent.pem"
    assert main(["keygen", "--out", str(key_file)]) == 0
    out = StringIO()
    call_command("agent_create", "writer", "--public-key", str(key_file) + ".pub", stdout=out)
    created = json.loads(out.getvalue())
    api = AgentClient(
        url="http://testserver", token=created["token"], transport=django_transport(Client())
    )
    return api, key_file, created


def test_the_client_imports_nothing_from_django():
    assert frameworks_loaded_by("patches.client", "patches.client.__main__") == []


def test_keygen_writes_a_private_key_only_its_owner_can_read_and_never_overwrites(tmp_path, capsys):
    key_file = tmp_path / "k.pem"
    assert main(["keygen", "--out", str(key_file)]) == 0
    printed = capsys.readouterr().out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    public_raw = load_public_key_pem((tmp_path / "k.pem.pub").read_bytes())
    assert "BEGIN PUBLIC KEY" in printed and key_id_of(public_raw) in printed
    assert key_id_of(public_raw) == agent_client.key_id_of(agent_client.load_private_key(key_file))
    before = key_file.read_bytes()
    assert main(["keygen", "--out", str(key_file)]) == 2
    assert key_file.read_bytes() == before


@pytest.mark.parametrize(
    "old,new",
    [
        (PROMPT, PROMPT.replace("politely", "politely and briefly")),
        ("a\nb\nc", "a\nb\nc\n"),  # gains a final newline
        ("a\nb\nc\n", "a\nB\nc"),  # loses it
        ("one\r\ntwo\r\n", "one\r\n2\r\n"),  # CRLF kept byte for byte
        (
            "\n".join(f"line {i}" for i in range(40)) + "\n",
            "\n".join(f"line {i}" for i in range(40) if i % 9) + "\nend\n",
        ),
        ("", "first line\n"),
    ],
)
def test_the_clients_diff_is_the_servers_and_applies_byte_for_byte(old, new):
    patch = agent_client.make_unified_diff(old, new)
    assert patch == make_unified_diff(old, new)
    assert apply_unified_diff(old, patch) == new


def test_the_clients_json_patch_applies_on_the_server():
    new = {
        **ROUTING,
        "threshold": 2.5,
        "routes": {**ROUTING["routes"], "sales": {"weight": 1.0, "keywords": {"buy": 1.0}}},
    }
    del new["routes"]["tech"]
    patch = agent_client.make_json_patch(ROUTING, new)
    applied = apply_patch(patch_type="Routing", base=json.dumps(ROUTING), patch=patch)
    assert json.loads(applied.content) == new


def test_the_client_proposes_new_json_content_and_reads_its_status(registered):
    api, key_file, _ = registered
    make_target(name="router", patch_type="Routing", content=ROUTING)
    result = api.propose(
        private_key=agent_client.load_private_key(key_file),
        target="router",
        reasoning="Stricter threshold.",
        new_content={**ROUTING, "threshold": 2.0},
    )
    proposal = Proposal.objects.get(pk=result["id"])
    assert result["patch_hash"] == agent_client.patch_hash(
        json.loads(proposal.envelope)["proposal"]
    )
    assert api.status(result["id"])["status"] == "testing"


def test_the_cli_submits_a_prompt_from_new_content_and_waits_for_the_decision(
    registered, tmp_path, capsys
):
    api, key_file, _ = registered
    make_target()
    new_file = tmp_path / "prompt.md"
    new_file.write_text(PROMPT.replace("Answer politely.", "Answer politely and briefly."))
    polls = []

    def decide_later(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 3:
            Proposal.objects.update(
                status="rejected", stage="test_gate", reason="Test failed: tone"
            )

    api.sleep = decide_later
    argv = [
        "submit",
        "system_prompt",
        "--key",
        str(key_file),
        "--new-content-file",
        str(new_file),
        "--reasoning",
        "Shorter answers.",
        "--wait",
    ]
    assert main(argv, client=api) == 1  # rejected
    out = capsys.readouterr().out
    assert '"status": "rejected"' in out and "Test failed: tone" in out
    assert polls == [0.5, 1.0, 2.0]  # backs off
    proposal = Proposal.objects.get()
    assert apply_unified_diff(PROMPT, proposal.patch) == new_file.read_text()


def test_the_cli_submits_a_patch_file_as_is(registered, tmp_path, capsys):
    api, key_file, _ = registered
    make_target(name="router", patch_type="Routing", content=ROUTING)
    patch_file = tmp_path / "p.json"
    patch_file.write_text('[{"op": "replace", "path": "/default", "value": "billing"}]')
    assert (
        main(
            [
                "submit",
                "router",
                "--key",
                str(key_file),
                "--patch-file",
                str(patch_file),
                "--reasoning",
                "r",
            ],
            client=api,
        )
        == 0
    )
    assert Proposal.objects.get().patch == patch_file.read_text()


def test_the_client_reports_problems_as_api_errors(registered, capsys):
    api, _key_file, _ = registered
    with pytest.raises(ApiError) as caught:
        api.status(999)
    assert caught.value.status == 404 and caught.value.problem["type"].endswith("/not-found")
    assert main(["status", "999"], client=api) == 1


def test_the_client_fetches_a_target_only_when_it_changed(registered, capsys):
    api, _, _ = registered
    make_target(name="router", patch_type="Routing", content=ROUTING)
    body, etag = api.target("router")
    assert body is not None and body["content"] == ROUTING and etag == f'"{body["content_hash"]}"'
    assert api.target("router", etag=etag) == (None, etag)
    assert main(["target", "router", "--content-only"], client=api) == 0
    assert json.loads(capsys.readouterr().out) == ROUTING


def test_wait_gives_up_after_its_timeout(registered):
    api, key_file, _ = registered
    make_target(name="router", patch_type="Routing", content=ROUTING)
    result = api.propose(
        private_key=agent_client.load_private_key(key_file),
        target="router",
        reasoning="r",
        new_content={**ROUTING, "threshold": 3.0},
    )
    api.sleep = lambda seconds: None
    with pytest.raises(TimeoutError):
        api.wait(result["id"], timeout=5)
