"""Choosing a proposal's tests and queueing its one gate run."""

from __future__ import annotations

from collections.abc import Sequence

from patches.models import Proposal, Target, TestDefinition, TestResult, TestRun


class UnknownTestError(ValueError):
    """The agent named a test that does not exist or does not apply to this target's type."""


def resolve_tests(*, target: Target, requested: Sequence[str]) -> list[TestDefinition]:
    """The target's mandatory tests, then the requested ones; unknown names are refused."""
    mandatory = list(target.mandatory_tests.order_by("name"))
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


def gate_queue(*, proposal: Proposal, tests: Sequence[TestDefinition]) -> TestRun:
    """The proposal's gate run, queued, with one pending result per test.

    Committed with the proposal, it is the outbox of the gates' task: published after commit by
    audit.gates, and re-found by the sweep (gate_runs_to_resume) if that publish is lost.
    """
    run = TestRun.objects.create(proposal=proposal, patch_hash=proposal.patch_hash)
    if tests:
        TestResult.objects.bulk_create(
            TestResult(run=run, test=test, name=test.name, position=index)
            for index, test in enumerate(tests)
        )
    return run
