"""target_create --content-file stores the file's bytes exactly (CRLF kept), so a `diff -u` made
against the real file applies; a file that is not UTF-8 is refused naming the byte offset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from patches.formats import content_hash
from patches.models import Target, TargetVersion
from tests.factories import make_agent, proposal_body, signed_envelope

ROOT = Path(__file__).resolve().parents[2]
CRLF_PROMPT = b"# Support\r\nYou help {customer}.\r\nBe brief.\r\n"


def create(*args: str) -> dict:
    out = StringIO()
    call_command("target_create", *args, stdout=out)
    return json.loads(out.getvalue())


def test_a_crlf_content_file_is_stored_byte_for_byte(db, tmp_path):
    prompt = tmp_path / "prompt.md"
    prompt.write_bytes(CRLF_PROMPT)
    result = create("crlf_prompt", "--type", "Prompt", "--content-file", str(prompt))
    stored = TargetVersion.objects.get(target__name="crlf_prompt").content
    assert stored.encode("utf-8") == CRLF_PROMPT
    assert result["content_hash"] == content_hash(CRLF_PROMPT.decode("utf-8"))


def test_a_diff_u_made_against_the_real_crlf_file_applies_through_the_api(db, tmp_path):
    prompt = tmp_path / "prompt.md"
    prompt.write_bytes(CRLF_PROMPT)
    create("crlf_prompt", "--type", "Prompt", "--content-file", str(prompt))
    edited = tmp_path / "prompt.new.md"
    edited.write_bytes(CRLF_PROMPT.replace(b"Be brief.", b"Be brief and kind."))
    made = subprocess.run(
        ["diff", "-u", str(prompt), str(edited)], capture_output=True, check=False
    )
    assert made.returncode == 1, made.stderr  # 1: the files differ
    assert b"-Be brief.\r\n+Be brief and kind.\r\n" in made.stdout

    persona = make_agent("writer")
    target = Target.objects.get(name="crlf_prompt")
    body = proposal_body(target=target, patch=made.stdout.decode("utf-8"))
    response = Client().post(
        "/api/v1/proposals",
        data=json.dumps(signed_envelope(persona, body)),
        content_type="application/json",
        **persona.auth,
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        (b"Hello \xff world\n", 6),
        (b"caf\xc3", 3),  # a sequence cut off at the end
        (b"ok\r\n\xed\xa0\x80\n", 4),  # an encoded surrogate
    ],
)
def test_a_content_file_that_is_not_utf8_is_refused_naming_the_file_and_byte_offset(
    db, tmp_path, raw, offset
):
    bad = tmp_path / "bad.md"
    bad.write_bytes(raw)
    with pytest.raises(CommandError) as caught:
        create("bad", "--type", "Prompt", "--content-file", str(bad))
    message = str(caught.value)
    assert str(bad) in message
    assert f"byte offset {offset}" in message
    assert not Target.objects.exists()


def test_the_command_exits_non_zero_with_the_message_on_stderr(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"Hello \xff world\n")
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'console.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "target_create", "bad", "--type", "Prompt",
         "--content-file", str(bad)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"content file {bad} is not UTF-8" in result.stderr
    assert "byte offset 6" in result.stderr
