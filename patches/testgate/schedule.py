"""Choosing a proposal's tests and queueing its one gate run."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction

from patches import rows
from patches.models import Proposal, Target, TestDefinition, TestResult, TestRun
from patches.testgate.publish import task_publish

logger = logging.getLogger(__name__)


class UnknownTestError(ValueError):
    """The agent named a test that does not exist or does not apply to this target's type."""


def resolve_tests(
    *, target: Target, requested: Sequence[str], has_mandatory: bool = True
) -> list[TestDefinition]:
    """The target's mandatory tests, then the requested ones; unknown names are refused.

    has_mandatory=False (the caller knows the target has none) saves a query.
    """
    mandatory = list(target.mandatory_tests.order_by("name")) if has_mandatory else []
    mandatory_names = {t.name for t in mandatory}
    wanted = [name for name in dict.fromkeys(requested) if name not in mandatory_names]
    found = {t.name: t for t in TestDefinition.objects.filter(name__in=wanted)} if wanted else {}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise UnknownTestError(f"unknown test names: {', '.join(missing)}")
    tests = mandatory + [found[name] for name in wanted]
    unfit = [t.name for t in tests if t.patch_types and target.patch_type not in t.patch_types]
    if unfit:
        raise UnknownTestError(
            f"tests {', '.join(unfit)} do not apply to {target.patch_type} targets"
        )
    return tests


def gate_schedule(*, proposal: Proposal, tests: Sequence[TestDefinition]) -> TestRun:
    """Create the gate run with one pending result per test; enqueue it once the caller commits."""
    run = TestRun(proposal=proposal, patch_hash=proposal.patch_hash)
    rows.insert(run)  # on every submit's path: no query compilation (patches.rows)
    if tests:
        TestResult.objects.bulk_create(
            TestResult(run=run, test=test, name=test.name, position=index)
            for index, test in enumerate(tests)
        )
    gate_enqueue_on_commit(proposal.pk)
    return run


def gate_enqueue_on_commit(proposal_id: int) -> None:
    """Queue the proposal's gate once the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: _enqueue(proposal_id))


def _enqueue(proposal_id: int) -> None:
    from patches.tasks import run_test_gate

    try:
        task_publish(run_test_gate, proposal_id)
    except Exception:
        # The proposal and its queued run are committed; a broker outage must not turn that
        # into an error for the agent. gate_sweep re-enqueues queued runs that never started.
        logger.warning(
            "could not enqueue the gate of proposal %s; the sweep will", proposal_id, exc_info=True
        )
