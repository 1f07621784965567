"""The gate service: runs each proposal's tests once, records every result, and decides once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.gates import gates_sweep
from patches.lifecycle import TransitionError, proposal_apply, proposal_withdraw
from patches.models import Event, GateStatus, Proposal, TargetVersion, TestRun
from patches.models import TestOutcome as Outcome
from patches.submit import SubmitRefused
from patches.testgate.runner import MAX_ATTEMPTS, gate_run
from tests.factories import make_agent, make_test
from tests.testgate.conftest import (
    gate,
    gate_events,
    json_patch,
    prompt_diff,
    result_of,
    submit,
    target_of,
)

pytestmark = pytest.mark.django_db
PATCH = prompt_diff("Answer politely.", "Answer politely and briefly.")


@pytest.fixture
def persona():
    return make_agent()


@pytest.fixture
def prompt_target():
    keeps = make_test("keeps-placeholders", "placeholders", {})
    short = make_test("short", "max_length", {"chars": 4000})
    return target_of("Prompt", [keeps, short])


def test_a_passing_gate_moves_the_proposal_to_review_with_one_event(persona, prompt_target):
    proposal = gate(persona, prompt_target, PATCH)
    assert proposal.status == "in_review"
    assert gate_events(proposal) == ["TestGatePassed"]
    event = Event.objects.get(kind="TestGatePassed", proposal=proposal)
    assert event.actor == "system:test_gate"
    run = proposal.test_run
    assert (run.status, run.attempts, run.patch_hash) == (GateStatus.PASSED, 1, proposal.patch_hash)
    assert all(r.status == Outcome.PASSED and r.duration_ms is not None for r in run.results.all())


def test_mandatory_tests_always_run_and_requested_ones_are_added(persona, prompt_target):
    prompt_target.offered_tests.add(
        make_test("mentions-company", "text_contains", {"text": "{company}"})
    )
    proposal = gate(persona, prompt_target, PATCH, requested=["mentions-company", "short"])
    names = list(proposal.test_run.results.order_by("position").values_list("name", flat=True))
    assert names == ["keeps-placeholders", "short", "mentions-company"]


def test_an_unknown_test_name_is_refused_at_submit_and_nothing_is_stored(persona, prompt_target):
    with pytest.raises(
        SubmitRefused, match="test no-such-test is not offered by target prompt-target"
    ):
        submit(persona, prompt_target, PATCH, requested=["no-such-test"])
    assert not Proposal.objects.exists()


def test_several_failures_are_each_named_in_the_reason(persona):
    tests = [
        make_test("a-contains", "text_contains", {"text": "nowhere"}),
        make_test("b-fine", "placeholders", {}),
        make_test("c-short", "max_length", {"chars": 10}),
    ]
    proposal = gate(persona, target_of("Prompt", tests), PATCH)
    assert proposal.status == "rejected"
    assert proposal.stage == "test_gate"
    assert proposal.reason == "Test failed: a-contains; Test failed: c-short"
    event = Event.objects.get(kind="PatchRejected", proposal=proposal)
    assert event.actor == "system:test_gate"
    assert '"stage":"test_gate"' in event.payload


def test_a_redelivered_gate_records_nothing_twice(persona, prompt_target):
    proposal = gate(persona, prompt_target, PATCH)
    outputs = list(proposal.test_run.results.values_list("pk", "output", "duration_ms"))
    assert gate_run(proposal_id=proposal.pk) is None
    assert gate_events(proposal) == ["TestGatePassed"]
    assert list(proposal.test_run.results.values_list("pk", "output", "duration_ms")) == outputs
    assert TestRun.objects.get(pk=proposal.test_run.pk).attempts == 1


def test_a_gate_resumed_after_a_dead_worker_skips_finished_tests(persona, prompt_target):
    proposal = submit(persona, prompt_target, PATCH)
    run = proposal.test_run
    first = run.results.get(position=0)
    first.status, first.output, first.duration_ms = Outcome.PASSED, "done before the crash", 7
    first.save()
    run.results.filter(position=1).update(status=Outcome.RUNNING)
    expired = timezone.now() - timedelta(seconds=1)
    TestRun.objects.filter(pk=run.pk).update(
        status=GateStatus.RUNNING, claimed_by="dead:1:x", lease_until=expired, attempts=1
    )
    assert gate_run(proposal_id=proposal.pk) is None
    run.refresh_from_db()
    assert (run.status, run.attempts) == (GateStatus.PASSED, 2)
    assert run.results.get(position=0).output == "done before the crash"
    assert run.results.get(position=1).status == Outcome.PASSED
    assert gate_events(proposal) == ["TestGatePassed"]


def test_a_gate_held_by_a_live_worker_is_retried_later_not_run_twice(persona, prompt_target):
    proposal = submit(persona, prompt_target, PATCH)
    lease = timezone.now() + timedelta(seconds=20)
    TestRun.objects.filter(proposal=proposal).update(
        status=GateStatus.RUNNING, claimed_by="live:1:x", lease_until=lease
    )
    retry_after = gate_run(proposal_id=proposal.pk)
    assert retry_after is not None and 19 < retry_after <= 21
    assert proposal.test_run.results.filter(status=Outcome.PENDING).count() == 2
    assert gate_events(proposal) == []


def test_a_withdrawn_proposal_stops_its_gate_quietly(persona, prompt_target):
    proposal = submit(persona, prompt_target, PATCH)
    proposal_withdraw(proposal=proposal, actor="agent:agent-smith")
    assert gate_run(proposal_id=proposal.pk) is None
    proposal.refresh_from_db()
    assert proposal.status == "withdrawn"
    assert gate_events(proposal) == []
    # The run is closed, so the sweep never re-enqueues it; its tests say why they did not run.
    assert proposal.test_run.status == GateStatus.FAILED
    outputs = set(proposal.test_run.results.values_list("status", "output"))
    assert outputs == {
        (Outcome.ERROR, "not run: the proposal was withdrawn before this test finished")
    }


def test_a_patch_that_no_longer_applies_fails_the_gate_with_a_clear_output(persona):
    test = make_test("schema", "json_schema", {"schema": {"type": "object"}})
    target = target_of("Config", [test])
    proposal = submit(
        persona, target, json_patch({"op": "replace", "path": "/retries", "value": 9})
    )
    # An admin tightened the target's schema after the submit; the candidate now breaks it.
    target.schema = {"type": "object", "properties": {"retries": {"maximum": 5}}}
    target.save()
    assert gate_run(proposal_id=proposal.pk) is None
    proposal.refresh_from_db()
    assert proposal.status == "rejected"
    assert proposal.reason.startswith("the patch does not apply to config-target version 1:")
    assert "/retries" in proposal.reason
    assert result_of(proposal, "schema").status == Outcome.ERROR
    assert gate_events(proposal) == ["PatchRejected"]


def test_submitting_enqueues_the_gate_after_commit(
    persona, prompt_target, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = submit(persona, prompt_target, PATCH)
    proposal.refresh_from_db()
    assert proposal.status == "in_review"


def test_the_sweep_reenqueues_lost_and_stuck_gates_only(
    persona, prompt_target, django_capture_on_commit_callbacks
):
    lost, stuck, live, withdrawn = (
        submit(persona, prompt_target, PATCH.replace("briefly", w)) for w in "abcd"
    )
    proposal_withdraw(proposal=withdrawn, actor="agent:agent-smith")
    old = timezone.now() - timedelta(minutes=10)
    TestRun.objects.update(enqueued_at=old)
    TestRun.objects.filter(proposal=stuck).update(
        status=GateStatus.RUNNING, lease_until=old, started_at=old, claimed_by="dead"
    )
    TestRun.objects.filter(proposal=live).update(
        status=GateStatus.RUNNING,
        lease_until=timezone.now() + timedelta(seconds=30),
        started_at=timezone.now(),
        claimed_by="live",
    )
    with django_capture_on_commit_callbacks(execute=True):
        requeued = gates_sweep()
    assert requeued == [lost.pk, stuck.pk]
    assert [gate_events(p) for p in (lost, stuck, live, withdrawn)] == [
        ["TestGatePassed"],
        ["TestGatePassed"],
        [],
        [],
    ]
    # Just re-enqueued: the next sweep leaves them alone for a while.
    assert gates_sweep() == []


def test_a_gate_that_keeps_dying_gives_up_and_is_rejected(persona, prompt_target):
    proposal = submit(persona, prompt_target, PATCH)
    TestRun.objects.filter(proposal=proposal).update(
        status=GateStatus.RUNNING,
        attempts=MAX_ATTEMPTS,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    assert gate_run(proposal_id=proposal.pk) is None
    proposal.refresh_from_db()
    assert proposal.reason == "Test failed: keeps-placeholders; Test failed: short"
    assert "gave up after 10 attempts" in result_of(proposal, "short").output


# --- Invariant 2: no path applies a patch without a passing gate for its exact patch_hash ----


def _in_review(proposal: Proposal) -> Proposal:
    Proposal.objects.filter(pk=proposal.pk).update(status="in_review")
    proposal.refresh_from_db()
    return proposal


@pytest.mark.parametrize(
    "gate_state",
    ["failed", "queued", "running", "other-patch-hash", "no-run"],
)
def test_apply_is_refused_without_a_passing_gate_for_the_patch_hash(
    persona, prompt_target, gate_state
):
    proposal = submit(persona, prompt_target, PATCH)
    run = TestRun.objects.filter(proposal=proposal)
    if gate_state in ("failed", "queued", "running"):
        run.update(status=gate_state)
    elif gate_state == "other-patch-hash":
        run.update(status=GateStatus.PASSED, patch_hash="sha256:" + "1" * 64)
    else:
        proposal.test_run.results.all().delete()
        run.delete()
    proposal = Proposal.objects.get(pk=proposal.pk)
    _in_review(proposal)
    events, versions = Event.objects.count(), TargetVersion.objects.count()
    with pytest.raises(TransitionError, match="no passing test gate for its patch_hash"):
        proposal_apply(proposal=proposal, actor="user:rita")
    prompt_target.refresh_from_db()
    assert prompt_target.version == 1
    assert (Event.objects.count(), TargetVersion.objects.count()) == (events, versions)
    assert Proposal.objects.get(pk=proposal.pk).status == "in_review"


def test_apply_goes_through_after_the_gate_passed_for_the_patch_hash(persona, prompt_target):
    proposal = gate(persona, prompt_target, PATCH)
    version = proposal_apply(proposal=proposal, actor="user:rita")
    assert version.version == 2 and "briefly" in version.content


def test_a_failed_enqueue_leaves_the_run_queued_for_the_sweep(
    persona, prompt_target, django_capture_on_commit_callbacks, monkeypatch
):
    from audit.gates import run_gates

    def broker_down(proposal_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(run_gates, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        proposal = submit(persona, prompt_target, PATCH)
    assert proposal.test_run.status == GateStatus.QUEUED
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        assert gates_sweep(now=timezone.now() + timedelta(minutes=5)) == [proposal.pk]
    proposal.refresh_from_db()
    assert proposal.status == "in_review"


@pytest.mark.parametrize("passes", [True, False])
def test_a_proposal_withdrawn_while_its_tests_run_ends_the_gate_quietly(
    persona, prompt_target, monkeypatch, passes
):
    """The agent withdraws between the last test and the decision: no error, no transition."""
    from patches.testgate import runner

    proposal = submit(persona, prompt_target, PATCH)
    real_kind_run = runner.kind_run

    def run_then_withdraw(**kwargs):  # type: ignore[no-untyped-def]
        outcome = real_kind_run(**kwargs)
        current = Proposal.objects.get(pk=proposal.pk)
        if current.status == "testing":
            proposal_withdraw(proposal=current, actor="agent:agent-smith")
        return outcome if passes else type(outcome)(passed=False, output="forced failure")

    monkeypatch.setattr(runner, "kind_run", run_then_withdraw)

    assert gate_run(proposal_id=proposal.pk) is None

    proposal.refresh_from_db()
    assert proposal.status == "withdrawn"
    assert gate_events(proposal) == []
    assert proposal.test_run.status == GateStatus.FAILED  # closed: the sweep never finds it
    assert not proposal.test_run.results.filter(
        status__in=[Outcome.PENDING, Outcome.RUNNING]
    ).exists()
