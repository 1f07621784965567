"""The command kind runs an admin's program with a timeout, limits and bounded output."""

from __future__ import annotations

import time

import pytest

from patches.models import TestOutcome as Outcome
from patches.testgate.command import OUTPUT_LIMIT, command_argv, command_run
from tests.factories import make_agent, make_test
from tests.testgate.conftest import gate, prompt_diff, result_of, target_of

PATCH = prompt_diff("Answer politely.", "Answer politely and briefly.")


@pytest.mark.django_db
def test_a_hanging_command_is_killed_at_its_timeout_and_fails_the_gate():
    test = make_test("hangs", "command", {"argv": ["sh", "-c", "sleep 60", "sh"], "timeout_s": 1})
    target = target_of("Prompt", [test])
    started = time.monotonic()
    proposal = gate(make_agent(), target, PATCH)
    assert time.monotonic() - started < 10
    result = result_of(proposal, "hangs")
    assert result.status == Outcome.FAILED
    assert result.output.startswith("timed out after 1 s")
    assert proposal.status == "rejected"
    assert proposal.reason == "Test failed: hangs"


@pytest.mark.django_db
def test_megabytes_of_output_are_truncated_not_stored_whole():
    argv = ["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' x; exit 1", "sh"]
    test = make_test("chatty", "command", {"argv": argv, "timeout_s": 20})
    target = target_of("Prompt", [test])
    proposal = gate(make_agent(), target, PATCH)
    result = result_of(proposal, "chatty")
    assert result.status == Outcome.FAILED
    assert len(result.output) < OUTPUT_LIMIT + 200
    assert "[output truncated: kept 65536 of 5000000 bytes]" in result.output


def test_the_timeout_kills_the_whole_process_group():
    outcome = command_run(
        argv=["sh", "-c", "sleep 30 & sleep 30; true"], candidate="x", timeout_s=0.5
    )
    assert outcome.timed_out and not outcome.passed
    assert "[killed after the 0.5 s timeout]" in outcome.output


def test_the_program_sees_only_path_in_its_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "do-not-leak")
    outcome = command_run(argv=["sh", "-c", "env", "sh"], candidate="x", timeout_s=5)
    assert outcome.passed
    # sh itself adds PWD; nothing of the worker's environment gets through.
    names = {line.split("=", 1)[0] for line in outcome.output.splitlines()}
    assert names <= {"PATH", "PWD"}
    assert "PATH=/usr/local/bin:/usr/bin:/bin" in outcome.output.splitlines()


def test_resource_limits_are_set_before_exec():
    outcome = command_run(
        argv=["sh", "-c", "ulimit -c; ulimit -v; ulimit -f"], candidate="x", timeout_s=5
    )
    assert outcome.output.split() == ["0", str(1024 * 1024), str(16 * 1024 * 2)]


def test_the_candidate_path_is_appended_unless_an_argument_names_file():
    assert command_argv(["check"], "/tmp/c") == ["check", "/tmp/c"]
    assert command_argv(["check", "--in={file}", "-v"], "/tmp/c") == ["check", "--in=/tmp/c", "-v"]


def test_a_missing_program_fails_with_a_message():
    outcome = command_run(argv=["no-such-program-here"], candidate="x", timeout_s=5)
    assert not outcome.passed
    assert "cannot start 'no-such-program-here'" in outcome.output
