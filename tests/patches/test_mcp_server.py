"""The MCP server end to end: the `mcp` SDK's own stdio client drives `python -m patches.client
mcp` against a console served over HTTP; what it proposes is signed on the agent's side."""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from cryptography.hazmat.primitives import serialization
from mcp import ClientSession, StdioServerParameters, stdio_client

from audit.reviews import review_record
from patches.canonical import canonical
from patches.client.__main__ import main
from patches.models import Proposal
from patches.signing import verify
from tests.factories import PROMPT, ROUTING, make_agent, make_reviewer, make_target

ROOT = Path(__file__).resolve().parents[2]
NEW_PROMPT = PROMPT.replace("Answer politely.", "Answer politely and ask for the order number.")


@pytest.fixture(autouse=True)
def _orm_between_awaits() -> Iterator[None]:
    # The test talks to the MCP server in an event loop and checks the database between the
    # calls, on the thread the live server shares its connection with: Django would refuse
    # ORM calls inside a running loop without this.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def key_file_of(persona: Any, path: Path) -> Path:
    path.write_bytes(
        persona.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def server_params(url: str, token: str, key: Path, cache: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "patches.client", "mcp"],
        cwd=str(ROOT),
        env={
            "PATCH_CONSOLE_URL": url,
            "PATCH_CONSOLE_TOKEN": token,
            "PATCH_CONSOLE_KEY": str(key),
            "PATCH_CONSOLE_CACHE_DIR": str(cache),
        },
    )


def result_of(answer: Any) -> dict[str, Any]:
    assert not answer.is_error, answer.content[0].text
    return json.loads(answer.content[0].text)


def error_of(answer: Any) -> str:
    assert answer.is_error, answer.content[0].text
    return str(answer.content[0].text)


@pytest.fixture
def agent_setup(live_console, tmp_path):
    persona = make_agent("mcp-agent")
    make_target(name="system_prompt")
    make_target(name="router", patch_type="Routing", content=ROUTING)
    key = key_file_of(persona, tmp_path / "agent.pem")
    return persona, server_params(live_console.url, persona.token, key, tmp_path / "copies")


def test_an_agent_reads_proposes_follows_and_withdraws_through_mcp(agent_setup):
    persona, params = agent_setup

    async def drive() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            names = {tool.name for tool in (await session.list_tools()).tools}
            assert names == {
                "list_targets", "read_target", "propose_patch", "proposal_status",
                "revise_proposal", "withdraw_proposal",
            }  # fmt: skip

            listed = result_of(await session.call_tool("list_targets", {}))["targets"]
            assert {row["name"] for row in listed} == {"system_prompt", "router"}
            read = result_of(await session.call_tool("read_target", {"name": "system_prompt"}))
            assert (read["content"], read["version"]) == (PROMPT, 1)

            proposed = result_of(
                await session.call_tool(
                    "propose_patch",
                    {"target": "system_prompt", "content": NEW_PROMPT, "reasoning": "Ask first."},
                )
            )
            stored = Proposal.objects.get(pk=proposed["id"])
            assert stored.agent == persona.agent and stored.patch_hash == proposed["patch_hash"]
            envelope = json.loads(stored.envelope)
            assert (
                stored.patch_hash
                == "sha256:"
                + __import__("hashlib").sha256(canonical(envelope["proposal"])).hexdigest()
            )
            (signature,) = stored.signatures.select_related("key")
            assert signature.key.key_id == persona.key_id and signature.verified_at is not None
            assert signature.value == envelope["signature"]["value"]
            # The console verified it; so does the test, against the agent's public key.
            verify(bytes.fromhex(signature.key.public_key), envelope["proposal"], signature.value)
            assert base64.b64decode(signature.value)
            assert envelope["proposal"]["base_version"] == 1
            assert "+Answer politely and ask for the order number." in stored.patch

            status = result_of(await session.call_tool("proposal_status", {"id": stored.pk}))
            assert status["status"] == "in_review" and status["patch_hash"] == stored.patch_hash

            withdrawn = result_of(await session.call_tool("withdraw_proposal", {"id": stored.pk}))
            assert withdrawn["status"] == "withdrawn"
            again = error_of(await session.call_tool("withdraw_proposal", {"id": stored.pk}))
            assert again.startswith("Proposal can no longer be withdrawn: proposal ")

    anyio.run(drive)
    assert Proposal.objects.get().status == "withdrawn"


def test_json_targets_get_a_json_patch_made_locally(agent_setup):
    _, params = agent_setup
    changed = {**ROUTING, "threshold": 1.5}

    async def drive() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await session.call_tool("read_target", {"name": "router"})
            proposed = result_of(
                await session.call_tool(
                    "propose_patch",
                    {"target": "router", "content": json.dumps(changed), "reasoning": "Fewer."},
                )
            )
            assert json.loads(proposed["patch"]) == [
                {"op": "replace", "path": "/threshold", "value": 1.5}
            ]

    anyio.run(drive)
    assert Proposal.objects.get().status == "in_review"


def test_refusals_come_back_as_tool_errors_with_the_problem_title_and_detail(agent_setup):
    _, params = agent_setup

    async def drive() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            missing = error_of(await session.call_tool("read_target", {"name": "nope"}))
            assert missing == "Not found: no target named 'nope'"
            stale = await session.call_tool(
                "propose_patch",
                {"target": "system_prompt", "patch": "not a diff", "reasoning": "x"},
            )
            assert error_of(stale).startswith("Patch does not parse or apply: ")
            assert stale.structured_content["problem"]["status"] == 422
            same = error_of(
                await session.call_tool(
                    "propose_patch",
                    {"target": "system_prompt", "content": PROMPT, "reasoning": "x"},
                )
            )
            assert "nothing to propose" in same
            both = error_of(
                await session.call_tool(
                    "propose_patch",
                    {"target": "router", "content": "{}", "patch": "[]", "reasoning": "x"},
                )
            )
            assert "exactly one of content" in both
            unknown = error_of(await session.call_tool("proposal_status", {"id": 999999}))
            assert unknown == "Not found: you have no proposal 999999"

    anyio.run(drive)
    assert not Proposal.objects.exists()


def test_prompt_targets_are_mcp_prompts_with_placeholders_filled(agent_setup):
    _, params = agent_setup

    async def drive() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            prompts = (await session.list_prompts()).prompts
            assert [p.name for p in prompts] == ["system_prompt"]  # router is Routing
            got = await session.get_prompt("system_prompt", {"company": "ACME"})
            text = got.messages[0].content.text
            assert text == PROMPT.replace("{company}", "ACME")

    anyio.run(drive)


def test_the_mcp_command_refuses_to_start_without_its_configuration(monkeypatch, capsys):
    for name in ("PATCH_CONSOLE_URL", "PATCH_CONSOLE_TOKEN", "PATCH_CONSOLE_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit, match="set PATCH_CONSOLE_URL, PATCH_CONSOLE_TOKEN"):
        main(["mcp"])


REASON_1 = "Customers give the order number late; asking for it first saves a round trip."
REASON_2 = "As asked in review: the order number request is now its own line and in bold."


def request_changes(proposal: Proposal, reviewer: Any, comments: list[dict[str, Any]]) -> None:
    """What a reviewer's Request changes form records (the console's own service)."""
    proposal.refresh_from_db()
    review_record(
        proposal=proposal,
        reviewer=reviewer,
        decision="request_changes",
        reason="Make the order number stand out.",
        patch_hash=proposal.patch_hash,
        base_content_hash=proposal.base_content_hash,
        comments=comments,
    )


def test_an_agent_revises_after_a_reviewer_requests_changes_and_then_withdraws(agent_setup):
    persona, params = agent_setup
    rita = make_reviewer("rita")
    revised_text = PROMPT.replace(
        "Answer politely.", "Answer politely.\n**Ask for the order number.**"
    )

    async def drive() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await session.call_tool("read_target", {"name": "system_prompt"})
            first = result_of(
                await session.call_tool(
                    "propose_patch",
                    {"target": "system_prompt", "content": NEW_PROMPT, "reasoning": REASON_1},
                )
            )
            comment = {"anchor": {"side": "new", "line": 2}, "body": "Put this on its own line."}
            request_changes(Proposal.objects.get(pk=first["id"]), rita, [comment])

            status = result_of(await session.call_tool("proposal_status", {"id": first["id"]}))
            assert status["status"] == "changes_requested"
            (review,) = status["reviews"]
            assert (review["reviewer"], review["decision"]) == ("rita", "request_changes")
            assert review["reason"] == "Make the order number stand out."
            assert review["comments"] == [comment]

            revision = result_of(
                await session.call_tool(
                    "revise_proposal",
                    {"id": first["id"], "content": revised_text, "reasoning": REASON_2},
                )
            )
            stored = Proposal.objects.get(pk=revision["id"])
            envelope = json.loads(stored.envelope)
            assert envelope["proposal"]["revises"] == first["patch_hash"]
            (signature,) = stored.signatures.select_related("key")
            assert signature.key.key_id == persona.key_id
            verify(bytes.fromhex(signature.key.public_key), envelope["proposal"], signature.value)
            assert stored.patch_hash == revision["patch_hash"]

            followed = result_of(await session.call_tool("proposal_status", {"id": stored.pk}))
            assert (followed["status"], followed["change"], followed["revision"]) == (
                "in_review", first["id"], 2,
            )  # fmt: skip
            assert [r["status"] for r in followed["revisions"]] == ["superseded", "in_review"]

            withdrawn = result_of(await session.call_tool("withdraw_proposal", {"id": stored.pk}))
            assert withdrawn["status"] == "withdrawn"
            closed = error_of(
                await session.call_tool(
                    "revise_proposal",
                    {"id": first["id"], "content": NEW_PROMPT, "reasoning": REASON_2},
                )
            )
            assert closed.startswith(f"proposal {first['id']} is superseded")

    anyio.run(drive)
    statuses = dict(Proposal.objects.values_list("revision", "status"))
    assert statuses == {1: "superseded", 2: "withdrawn"}


def test_a_stale_proposal_is_revised_from_the_consoles_rebase_when_no_content_is_given(
    agent_setup,
):
    _, params = agent_setup
    rita = make_reviewer("rita")
    # Far apart lines, so the second change still applies once the first moved the target.
    lines = "".join(f"Rule {n}: be precise.\n" for n in range(1, 21))
    make_target(name="rules", content=lines)
    first_line = lines.replace("Rule 2: be precise.", "Rule 2: be precise and kind.")
    last_line = lines.replace("Rule 18: be precise.", "Rule 18: be brief.")

    async def drive() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            applied = result_of(
                await session.call_tool(
                    "propose_patch",
                    {"target": "rules", "content": first_line, "reasoning": REASON_1},
                )
            )
            waiting = result_of(
                await session.call_tool(
                    "propose_patch",
                    {"target": "rules", "content": last_line, "reasoning": REASON_1},
                )
            )
            proposal = Proposal.objects.get(pk=applied["id"])
            review_record(
                proposal=proposal, reviewer=rita, decision="approve", reason="Kinder, good.",
                patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash,
            )  # fmt: skip

            status = result_of(await session.call_tool("proposal_status", {"id": waiting["id"]}))
            assert status["status"] == "stale"
            assert status["stale"] == {"current_version": 2, "rebase": "clean"}

            rebased = result_of(
                await session.call_tool(
                    "revise_proposal", {"id": waiting["id"], "reasoning": REASON_1}
                )
            )
            assert rebased["base_version"] == 2
            revision = Proposal.objects.get(pk=rebased["id"])
            assert revision.status == "in_review" and revision.base_version == 2
            assert json.loads(revision.envelope)["proposal"]["revises"] == waiting["patch_hash"]

    anyio.run(drive)
