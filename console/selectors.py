"""Read queries of the console pages, each a constant number of queries whatever the row count."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from audit.gate import AUDIT_CHECKED, audit_gate_has_run
from audit.models import Checkpoint, Finding, Review, Severity
from console.views.access import Viewer, visible_proposals, visible_targets
from patches.formats import PatchError
from patches.models import (
    OPEN_STATUSES,
    Agent,
    Event,
    Proposal,
    ProposalStatus,
    Signature,
    TargetVersion,
    TestOutcome,
    TestResult,
    TestRun,
)
from patches.targets import target_patch_apply

AWAITING = "awaiting"  # the inbox's default: in review, mine to review, not yet reviewed by me
INBOX_STATUSES = [AWAITING, *ProposalStatus.values, "all"]


def _count_of(queryset: QuerySet[Any], link: str) -> Coalesce:
    # A correlated COUNT subquery per column: joins of several to-many relations would multiply.
    counted = (
        queryset.filter(**{link: OuterRef("pk")})
        .order_by()
        .values(link)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def awaiting_review(viewer: Viewer) -> QuerySet[Proposal]:
    return (
        visible_proposals(viewer)
        .filter(status=ProposalStatus.IN_REVIEW)
        .exclude(reviews__reviewer=viewer.user)
        # Whoever asked for a proposal (a revert) may not review it (separation of duties).
        .exclude(submitted_by=viewer.user)
    )


def awaiting_count(viewer: Viewer) -> int:
    return awaiting_review(viewer).count()


def inbox_proposals(
    viewer: Viewer,
    *,
    status: str = AWAITING,
    patch_type: str = "",
    target: str = "",
    agent: str = "",
    hash_prefix: str = "",
) -> QuerySet[Proposal]:
    if status == AWAITING:
        proposals = awaiting_review(viewer)
    elif status in ProposalStatus.values:
        proposals = visible_proposals(viewer).filter(status=status)
    else:
        proposals = visible_proposals(viewer)
    if patch_type:
        proposals = proposals.filter(patch_type=patch_type)
    if target:
        proposals = proposals.filter(target__name=target)
    if agent:
        proposals = proposals.filter(agent__name=agent)
    if hash_prefix:
        prefix = hash_prefix.strip().lower()
        if not prefix.startswith("sha256:"):
            prefix = "sha256:" + prefix
        proposals = proposals.filter(patch_hash__startswith=prefix)
    findings = Finding.objects.all()
    results = TestResult.objects.all()
    return (
        proposals.select_related("target", "agent")
        .annotate(
            findings_block=_count_of(findings.filter(severity=Severity.BLOCK), "proposal"),
            findings_raise=_count_of(findings.filter(severity=Severity.RAISE), "proposal"),
            findings_info=_count_of(findings.filter(severity=Severity.INFO), "proposal"),
            tests_total=_count_of(results, "run__proposal"),
            tests_passed=_count_of(results.filter(status=TestOutcome.PASSED), "run__proposal"),
            approvals=_count_of(Review.objects.filter(decision="approve"), "proposal"),
        )
        .order_by("created_at", "pk")
    )


def inbox_choices(viewer: Viewer) -> dict[str, list[str]]:
    """The target and agent names the inbox filters offer."""
    targets = visible_targets(viewer).order_by("name").values_list("name", flat=True)
    agents = (
        Agent.objects.filter(pk__in=visible_proposals(viewer).values("agent_id"))
        .order_by("name")
        .values_list("name", flat=True)
    )
    return {"targets": list(targets), "agents": list(agents)}


@dataclass
class CaseChange:
    test: str
    case: Any
    before: Any
    after: Any
    expect: Any
    fixed: bool  # the change moves the case to its expected outcome


@dataclass
class Candidate:
    """What the proposal turns the base into, or why that cannot be shown."""

    base: TargetVersion | None
    content: str | None
    error: str = ""


@dataclass
class ProposalPage:
    proposal: Proposal
    signatures: list[Signature]
    run: TestRun | None
    results: list[TestResult]
    findings: list[Finding]
    reviews: list[Review]
    events: list[Event]
    candidate: Candidate
    impact: list[CaseChange] = field(default_factory=list)
    impact_summaries: dict[str, str] = field(default_factory=dict)

    @property
    def approvals(self) -> int:
        return sum(1 for review in self.reviews if review.decision == "approve")

    @property
    def audited(self) -> bool:
        """The audit gate has checked this proposal (its AuditChecked event is in the log)."""
        return any(event.kind == AUDIT_CHECKED for event in self.events)

    @property
    def findings_by_severity(self) -> dict[str, int]:
        counts = {severity: 0 for severity in Severity.values}
        for finding in self.findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts


def gate_of(proposal: Proposal) -> tuple[TestRun | None, list[TestResult]]:
    run = TestRun.objects.filter(proposal=proposal).first()
    if run is None:
        return None, []
    return run, list(run.results.order_by("position"))


def gate_finished(proposal: Proposal, run: TestRun | None) -> bool:
    """Both gates are done: the test gate decided and, for a proposal in review, the audit gate
    (which runs right after it, in its own transaction) has checked it too."""
    if proposal.status == ProposalStatus.IN_REVIEW:
        return audit_gate_has_run(proposal)
    if proposal.status != ProposalStatus.TESTING:
        return True
    return run is not None and run.status in ("passed", "failed")


def behaviour_changes(results: list[TestResult]) -> list[CaseChange]:
    """Cases of case-based tests whose outcome the patch changes, before vs after."""
    changes = []
    for result in results:
        for case in result.cases or []:
            if not isinstance(case, dict) or case.get("before") == case.get("after"):
                continue
            subject = case.get("case", case.get("input", case.get("context")))
            changes.append(
                CaseChange(
                    test=result.name,
                    case=subject
                    if isinstance(subject, str)
                    else json.dumps(subject, sort_keys=True),
                    before=case.get("before"),
                    after=case.get("after"),
                    expect=case.get("expect"),
                    fixed=bool(case.get("ok", case.get("after") == case.get("expect"))),
                )
            )
    return changes


def impact_lines(results: list[TestResult]) -> dict[str, str]:
    """test name → one-line summary ("3 of 120 routing cases change route") for case tests."""
    from patches.testgate.impact import impact_summary

    return {r.name: impact_summary(r) for r in results if r.cases}


def candidate_of(proposal: Proposal) -> Candidate:
    target = proposal.target
    versions = {
        v.version: v
        for v in TargetVersion.objects.filter(
            Q(version=proposal.base_version) | Q(proposal=proposal), target=target
        )
    }
    base = versions.get(proposal.base_version)
    produced = next((v for v in versions.values() if v.proposal_id == proposal.pk), None)
    if produced is not None:
        return Candidate(base=base, content=produced.content)
    if base is None:
        return Candidate(base=None, content=None, error="The base version does not exist.")
    try:
        applied = target_patch_apply(target=target, base=base.content, patch=proposal.patch)
    except PatchError as exc:
        return Candidate(base=base, content=None, error=f"The patch no longer applies: {exc}")
    return Candidate(base=base, content=applied.content)


def proposal_page(proposal: Proposal) -> ProposalPage:
    run, results = gate_of(proposal)
    return ProposalPage(
        proposal=proposal,
        signatures=list(proposal.signatures.select_related("key")),
        run=run,
        results=results,
        findings=list(proposal.findings.order_by("id")),
        reviews=list(
            proposal.reviews.select_related("reviewer", "withdrawn_by")
            .prefetch_related("comments")
            .order_by("created_at")
        ),
        events=list(Event.objects.filter(proposal=proposal).order_by("seq")),
        candidate=candidate_of(proposal),
        impact=behaviour_changes(results),
        impact_summaries=impact_lines(results),
    )


def target_rows(viewer: Viewer) -> QuerySet[Any]:
    current = TargetVersion.objects.filter(target=OuterRef("pk"), version=OuterRef("version"))
    return (
        visible_targets(viewer)
        .annotate(
            content_hash=Subquery(current.values("content_hash")[:1]),
            open_proposals=_count_of(Proposal.objects.filter(status__in=OPEN_STATUSES), "target"),
        )
        .order_by("name")
    )


def target_history(target: Any) -> list[TargetVersion]:
    return list(
        TargetVersion.objects.filter(target=target)
        .select_related("proposal", "proposal__agent", "proposal__submitted_by")
        .order_by("-version")
    )


def visible_events(
    viewer: Viewer, *, kind: str = "", proposal_id: int | None = None
) -> QuerySet[Event]:
    events = Event.objects.all()
    if not viewer.is_admin:
        # Events about proposals on targets one cannot see are not theirs to read either.
        events = events.filter(Q(proposal__isnull=True) | Q(proposal__in=visible_proposals(viewer)))
    if kind:
        events = events.filter(kind=kind)
    if proposal_id is not None:
        events = events.filter(proposal_id=proposal_id)
    return events.order_by("-seq")


def event_kinds() -> list[str]:
    return list(Event.objects.order_by("kind").values_list("kind", flat=True).distinct())


def pretty_payload(event: Event) -> str:
    try:
        return json.dumps(json.loads(event.payload), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return event.payload


def recent_checkpoints(limit: int = 10) -> list[Checkpoint]:
    return list(Checkpoint.objects.order_by("-seq")[:limit])
