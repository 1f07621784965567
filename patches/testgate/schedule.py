"""Choosing a proposal's tests and queueing its one gate run."""

from __future__ import annotations

from collections.abc import Sequence

from patches.models import Proposal, Target, TestDefinition, TestResult, TestRun


class UnknownTestError(ValueError):
    """The agent named a test its target does not offer, or an offered test of another type."""


def _not_offered(*, target: Target, names: Sequence[str]) -> UnknownTestError:
    # Built from the request and the target's offer alone, so it reads the same whether or not
    # a test of that name exists somewhere else: no oracle for other targets' (command) tests.
    offered = sorted(
        {t.name for t in target.mandatory_tests.all()}
        | {t.name for t in target.offered_tests.all()}
    )
    what = f"test {names[0]} is" if len(names) == 1 else f"tests {', '.join(names)} are"
    offer = f"it offers: {', '.join(offered)}" if offered else "it offers no tests"
    return UnknownTestError(f"{what} not offered by target {target.name} ({offer})")


def resolve_tests(*, target: Target, requested: Sequence[str]) -> list[TestDefinition]:
    """The target's mandatory tests, then the requested ones among those the target offers.

    Agents choose only among the target's mandatory and offered tests: any other name is
    refused, so an admin's test configured for one target never runs on another.
    """
    mandatory = list(target.mandatory_tests.order_by("name"))
    mandatory_names = {t.name for t in mandatory}
    wanted = [name for name in dict.fromkeys(requested) if name not in mandatory_names]
    found = {t.name: t for t in target.offered_tests.filter(name__in=wanted)} if wanted else {}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise _not_offered(target=target, names=missing)
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
