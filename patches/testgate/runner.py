"""Running a proposal's test gate: claim the run, test the candidate, record each result, decide.

Idempotent under redelivery and concurrent execution:
- the run row is claimed under its row lock by one holder at a time; the holder keeps a lease
  (its current test's timeout plus LEASE_GRACE_S) and a second delivery inside that lease backs
  off and asks to be retried when it ends, while an expired lease lets it take over;
- each result is written in its own short transaction, only by the current holder and only if
  it is not finished yet, so a redelivered gate skips what is done and records nothing twice;
- the decision is written with the run row and the proposal locked, once: a finished run, or a
  proposal that is no longer `testing` (withdrawn meanwhile), makes the gate stop quietly.

A failed gate's reason names each failed test as DESIGN.md says, joined by "; ":
"Test failed: max-length; Test failed: prompt-placeholders".
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from patches import lifecycle
from patches.formats import PatchError
from patches.models import (
    GateStatus,
    Proposal,
    ProposalStatus,
    RejectionStage,
    TargetVersion,
    TestOutcome,
    TestResult,
    TestRun,
)
from patches.targets import target_patch_apply
from patches.testgate.kinds import Outcome, Subject, kind_run

logger = logging.getLogger(__name__)

ACTOR = "system:test_gate"
LEASE_GRACE_S = 5
MAX_ATTEMPTS = 10
# Commands keep 64 KiB of their output; the stored text has room for the notes around it.
OUTPUT_LIMIT = 72 * 1024
FINISHED = (TestOutcome.PASSED, TestOutcome.FAILED, TestOutcome.ERROR)


def _bounded(output: str) -> str:
    if len(output) <= OUTPUT_LIMIT:
        return output
    return (
        output[:OUTPUT_LIMIT]
        + f"\n[output truncated: kept {OUTPUT_LIMIT} of {len(output)} characters]"
    )


def failure_reason(names: list[str]) -> str:
    return "; ".join(f"Test failed: {name}" for name in names)


def gate_run(*, proposal_id: int) -> float | None:
    """Run (or resume) the test gate of a proposal. Returns seconds to wait before retrying
    when another live worker holds the gate, else None (done, or nothing to do)."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    claimed = _claim(proposal_id, holder)
    if not isinstance(claimed, TestRun):
        return claimed
    subject = _subject(claimed.proposal)
    if isinstance(subject, str):
        _decide(claimed.pk, holder, apply_error=subject)
        return None
    pending = (
        claimed.results.exclude(status__in=FINISHED).select_related("test").order_by("position")
    )
    for result in list(pending):
        if not _start(claimed.pk, result, holder):
            return None
        started = time.monotonic()
        try:
            outcome = kind_run(
                kind=result.test.kind,
                params=result.test.params,
                subject=subject,
                timeout_s=result.test.timeout_s,
            )
            status = TestOutcome.PASSED if outcome.passed else TestOutcome.FAILED
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # a bug in a kind must fail this test, not wedge the gate
            logger.exception("test %s crashed on proposal %s", result.name, proposal_id)
            outcome, status = (
                Outcome(False, f"internal error while testing: {exc!r}"),
                TestOutcome.ERROR,
            )
        elapsed_ms = int((time.monotonic() - started) * 1000)
        if not _finish(claimed.pk, result, holder, outcome, status, elapsed_ms):
            return None
    _decide(claimed.pk, holder)
    return None


def _claim(proposal_id: int, holder: str) -> TestRun | float | None:
    with transaction.atomic():
        run = (
            # of=("self",): only the run row. Locking the joined proposal and target too would
            # block other transactions' foreign-key checks on them (KEY SHARE) and invert the
            # target -> proposal -> chain lock order that reviews and applies follow.
            TestRun.objects.select_for_update(of=("self",))
            .select_related("proposal__target")
            .filter(proposal_id=proposal_id)
            .first()
        )
        if run is None:
            logger.warning("no test run for proposal %s; nothing to do", proposal_id)
            return None
        if run.status in (GateStatus.PASSED, GateStatus.FAILED):
            return None
        if run.proposal.status != ProposalStatus.TESTING:
            _stop(run)  # withdrawn (or decided) meanwhile: stop quietly
            return None
        now = timezone.now()
        if run.status == GateStatus.RUNNING and run.lease_until and run.lease_until > now:
            return (run.lease_until - now).total_seconds() + 0.5
        if run.attempts >= MAX_ATTEMPTS:
            _give_up(run, now)
            return None
        run.status = GateStatus.RUNNING
        run.attempts += 1
        run.claimed_by = holder
        run.started_at = run.started_at or now
        run.lease_until = now + timedelta(seconds=LEASE_GRACE_S)
        run.save(update_fields=["status", "attempts", "claimed_by", "started_at", "lease_until"])
        return run


def _give_up(run: TestRun, now: datetime) -> None:
    unfinished = list(run.results.exclude(status__in=FINISHED).order_by("position"))
    note = (
        f"not finished: the gate gave up after {run.attempts} attempts (workers died or timed out)"
    )
    TestResult.objects.filter(pk__in=[r.pk for r in unfinished]).update(
        status=TestOutcome.ERROR, output=note
    )
    _close(run, GateStatus.FAILED, now)
    reason = failure_reason([r.name for r in unfinished]) or "Test gate gave up"
    lifecycle.proposal_reject(
        proposal=run.proposal, stage=RejectionStage.TEST_GATE, reason=reason, actor=ACTOR
    )


def _subject(proposal: Proposal) -> Subject | str:
    """The candidate (base content of base_version + patch), or why the patch does not apply."""
    target = proposal.target
    base = TargetVersion.objects.filter(target=target, version=proposal.base_version).first()
    if base is None:
        return f"base version {proposal.base_version} of {target.name} does not exist"
    try:
        applied = target_patch_apply(target=target, base=base.content, patch=proposal.patch)
    except PatchError as exc:
        return f"the patch does not apply to {target.name} version {proposal.base_version}: {exc}"
    return Subject(
        candidate=applied.content,
        base=base.content,
        patch_type=target.patch_type,
        content_kind=target.content_kind,
    )


def _held(run_id: int, holder: str) -> TestRun | None:
    """The run, locked, if this holder still holds it and the proposal is still being tested."""
    run = TestRun.objects.select_for_update(of=("self",)).select_related("proposal").get(pk=run_id)
    if run.claimed_by != holder or run.status != GateStatus.RUNNING:
        return None
    if run.proposal.status != ProposalStatus.TESTING:
        _stop(run)
        return None
    return run


def _stop(run: TestRun) -> None:
    """Close the run of a proposal decided while it was tested, so the sweep never finds it."""
    note = f"not run: the proposal was {run.proposal.status} before this test finished"
    TestResult.objects.filter(run=run).exclude(status__in=FINISHED).update(
        status=TestOutcome.ERROR, output=note
    )
    _close(run, GateStatus.FAILED, timezone.now())


def _start(run_id: int, result: TestResult, holder: str) -> bool:
    with transaction.atomic():
        run = _held(run_id, holder)
        if run is None:
            return False
        run.lease_until = timezone.now() + timedelta(seconds=result.test.timeout_s + LEASE_GRACE_S)
        run.save(update_fields=["lease_until"])
        TestResult.objects.filter(pk=result.pk).exclude(status__in=FINISHED).update(
            status=TestOutcome.RUNNING, output="", duration_ms=None, cases=[]
        )
        return True


def _finish(
    run_id: int, result: TestResult, holder: str, outcome: Outcome, status: str, elapsed_ms: int
) -> bool:
    with transaction.atomic():
        if _held(run_id, holder) is None:
            return False
        TestResult.objects.filter(pk=result.pk, status=TestOutcome.RUNNING).update(
            status=status,
            output=_bounded(outcome.output),
            cases=outcome.cases,
            duration_ms=elapsed_ms,
        )
        return True


def _close(run: TestRun, status: str, now: datetime) -> None:
    run.status = status
    run.finished_at = now
    run.lease_until = None
    run.save(update_fields=["status", "finished_at", "lease_until"])


def _decide(run_id: int, holder: str, apply_error: str = "") -> None:
    with transaction.atomic():
        run = _held(run_id, holder)
        if run is None:
            return
        # Lock the target and the proposal in the one order every transition follows, then look
        # again: a reviewer's apply may have rejected it as stale (or its agent withdrawn it)
        # while the tests ran, and then the gate records its results and stops quietly.
        proposal = lifecycle.proposal_lock(run.proposal)
        now = timezone.now()
        if apply_error:
            TestResult.objects.filter(run=run).exclude(status__in=FINISHED).update(
                status=TestOutcome.ERROR, output=apply_error
            )
            failed, reason = ["(patch does not apply)"], apply_error[:2000]
        else:
            failed = list(
                run.results.filter(status__in=[TestOutcome.FAILED, TestOutcome.ERROR])
                .order_by("position")
                .values_list("name", flat=True)
            )
            reason = failure_reason(failed) if failed else ""
        _close(run, GateStatus.FAILED if failed else GateStatus.PASSED, now)
        if proposal.status != ProposalStatus.TESTING:
            return
        if failed:
            lifecycle.proposal_reject(
                proposal=proposal, stage=RejectionStage.TEST_GATE, reason=reason, actor=ACTOR
            )
        else:
            lifecycle.proposal_pass_test_gate(proposal=proposal)


def gate_runs_to_resume(*, now: datetime) -> list[int]:
    """Proposals whose gate run was never started or whose worker died; marks them re-enqueued.

    Queued for more than GATE_REQUEUE_AFTER_S (default: the smaller of 60 s and the gate time
    limit) with no start: the publish after commit was lost (a broker outage). Running with an
    expired lease, or started more than GATE_TIME_LIMIT_S ago: the worker died. Each is returned
    at most once per GATE_REQUEUE_AFTER_S; running a gate twice is harmless (see gate_run).
    """
    limit = settings.GATE_TIME_LIMIT_S
    stale = Q(status=GateStatus.QUEUED) | Q(status=GateStatus.RUNNING) & (
        Q(lease_until__lt=now)
        | Q(lease_until__isnull=True)
        | Q(started_at__lt=now - timedelta(seconds=limit))
    )
    runs = TestRun.objects.filter(
        stale, proposal__status=ProposalStatus.TESTING, enqueued_at__lt=now - requeue_after()
    )
    proposal_ids = list(runs.order_by("pk").values_list("proposal_id", flat=True)[:1000])
    TestRun.objects.filter(proposal_id__in=proposal_ids).update(enqueued_at=now)
    return proposal_ids


def requeue_after() -> timedelta:
    """How long a gate may wait for a worker before the sweep publishes it again."""
    limit = settings.GATE_TIME_LIMIT_S
    return timedelta(seconds=getattr(settings, "GATE_REQUEUE_AFTER_S", min(60, limit)))
