"""agent_create and target_create: JSON on stdout, a clear CommandError on bad input."""

from __future__ import annotations

import json
import stat
from io import StringIO

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.test import Client

from patches.agents import agent_for_token
from patches.formats import content_hash
from patches.models import Agent, AgentKey, Target
from patches.signing import key_id_of, load_private_key_pem, raw_public_key
from tests.factories import PROMPT, ROUTING, make_test


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def var_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def test_agent_create_with_a_public_key_prints_agent_token_and_key_id(db, tmp_path):
    private = Ed25519PrivateKey.generate()
    pem_file = tmp_path / "pub.pem"
    pem_file.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    result = run("agent_create", "writer", "--public-key", str(pem_file))
    assert set(result) == {"agent", "token", "key_id"}
    assert result["key_id"] == key_id_of(raw_public_key(private.public_key()))
    assert agent_for_token(result["token"]) == Agent.objects.get(name="writer")
    response = Client().get("/api/v1/targets", HTTP_AUTHORIZATION=f"Bearer {result['token']}")
    assert response.status_code == 200


def test_agent_create_without_a_key_writes_a_0600_private_key_under_var_keys(db, var_dir):
    result = run("agent_create", "writer")
    key_file = var_dir / "keys" / "writer.pem"
    assert result["private_key_file"] == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    private = load_private_key_pem(key_file.read_bytes())
    assert (
        AgentKey.objects.get(agent__name="writer").key_id
        == result["key_id"]
        == key_id_of(raw_public_key(private.public_key()))
    )


def test_agent_create_refuses_to_overwrite_a_private_key_file(db, var_dir):
    key_file = var_dir / "keys" / "writer.pem"
    key_file.parent.mkdir(parents=True)
    key_file.write_text("precious")
    with pytest.raises(CommandError, match="already exists"):
        run("agent_create", "writer")
    assert key_file.read_text() == "precious"
    assert not Agent.objects.exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["agent_create", "not a slug"], "not a slug"),
        (["agent_create", "console"], "reserved"),
        (["agent_create", "writer", "--public-key", "/no/such/file.pem"], "cannot read"),
    ],
)
def test_agent_create_explains_bad_input(db, var_dir, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_agent_create_refuses_a_duplicate_name_and_a_non_key_file(db, var_dir, tmp_path):
    run("agent_create", "writer")
    with pytest.raises(CommandError, match="already exists"):
        run("agent_create", "writer")
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(CommandError, match="PEM"):
        run("agent_create", "other", "--public-key", str(junk))


def test_target_create_makes_a_prompt_target(db, tmp_path):
    content = tmp_path / "prompt.md"
    content.write_text(PROMPT)
    make_test("no-secrets", "text_not_contains", {"text": "password"})
    result = run(
        "target_create",
        "system_prompt",
        "--type",
        "Prompt",
        "--content-file",
        str(content),
        "--approvals",
        "2",
        "--tests",
        "no-secrets",
    )
    assert result == {"name": "system_prompt", "version": 1, "content_hash": content_hash(PROMPT)}
    target = Target.objects.get()
    assert target.required_approvals == 2
    assert list(target.mandatory_tests.values_list("name", flat=True)) == ["no-secrets"]


def test_target_create_makes_a_json_target_with_a_schema(db, tmp_path):
    content = tmp_path / "config.json"
    content.write_text(json.dumps({"max_tokens": 500}))
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {"type": "object", "properties": {"max_tokens": {"type": "integer", "maximum": 4000}}}
        )
    )
    result = run(
        "target_create",
        "limits",
        "--type",
        "Config",
        "--content-file",
        str(content),
        "--schema-file",
        str(schema),
    )
    assert result["content_hash"] == content_hash('{"max_tokens":500}')
    assert Target.objects.get().schema["properties"]["max_tokens"]["maximum"] == 4000


@pytest.mark.parametrize(
    "extra,content,message",
    [
        (["--type", "Routing"], "{not json", "JSON"),
        (["--type", "Routing"], json.dumps({"routes": 1}), None),
        (["--type", "Prompt", "--tests", "nope"], PROMPT, "unknown tests"),
        (["--type", "Prompt", "--approvals", "0"], PROMPT, "at least 1"),
        (["--type", "Config", "--schema-file", "/no/such/schema.json"], "{}", "cannot read"),
    ],
)
def test_target_create_explains_bad_input(db, tmp_path, extra, content, message):
    content_file = tmp_path / "content"
    content_file.write_text(content)
    with pytest.raises(CommandError, match=message):
        run("target_create", "t", "--content-file", str(content_file), *extra)
    assert not Target.objects.exists()


def test_target_create_refuses_a_duplicate_and_an_unknown_type(db, tmp_path):
    content_file = tmp_path / "routing.json"
    content_file.write_text(json.dumps(ROUTING))
    run("target_create", "router", "--type", "Routing", "--content-file", str(content_file))
    with pytest.raises(CommandError, match="already exists"):
        run("target_create", "router", "--type", "Routing", "--content-file", str(content_file))
    with pytest.raises(CommandError):
        run("target_create", "other", "--type", "Code", "--content-file", str(content_file))


@pytest.mark.django_db
def test_target_create_refuses_audit_rules_of_the_wrong_shape():
    from patches.targets import TargetError, target_create

    with pytest.raises(TargetError, match=r"audit_rules\.max_ops must be a whole number"):
        target_create(
            name="bad-rules",
            patch_type="Config",
            content="{}",
            actor="user:test",
            audit_rules={"max_ops": -1},
        )
    assert not Target.objects.filter(name="bad-rules").exists()
