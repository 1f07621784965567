"""The audit gate: automated checks on a proposal that passed its test gate, before any review."""

from __future__ import annotations

from django.db import transaction

from audit.findings import BLOCK, INFO, RAISE, CheckInput, FindingResult, findings_compute
from audit.models import Finding
from audit.revisions import CarryPlan, approvals_carry, carry_plan
from patches.audit_rules import AuditRulesError, audit_rules_validate
from patches.lifecycle import proposal_lock, proposal_reject
from patches.log import event_append
from patches.models import Proposal, ProposalStatus, RejectionStage, TargetVersion

ACTOR = "system:audit_gate"
# The event that says the audit gate ran: reviews wait for it (audit.access), the sweep looks
# for proposals in review without it (audit.gates).
AUDIT_CHECKED = "AuditChecked"


def audit_gate_run(*, proposal_id: int) -> None:
    """Run the checks on a proposal in review, once: store the findings, set the approvals
    needed, and reject on a block, all in one transaction with its AuditChecked event."""
    with transaction.atomic():
        proposal = Proposal.objects.filter(pk=proposal_id).first()
        if proposal is None:
            return
        proposal = proposal_lock(proposal)
        if proposal.status != ProposalStatus.IN_REVIEW or audit_gate_has_run(proposal):
            return  # not (or no longer) waiting for the audit gate; its findings stand
        _check(proposal)


def audit_gate_has_run(proposal: Proposal) -> bool:
    return proposal.events.filter(kind=AUDIT_CHECKED).exists()


def _check(proposal: Proposal) -> None:
    target = proposal.target
    try:
        rules = audit_rules_validate(target.audit_rules)
    except AuditRulesError as exc:
        # Broken rules must not wave a patch through: refuse it and say what to fix.
        _store(
            proposal,
            [FindingResult("audit_rules", BLOCK, f"The target's audit rules are invalid: {exc}")],
        )
        _reject(proposal)
        return
    current = TargetVersion.objects.get(target=target, version=target.version)
    base = TargetVersion.objects.filter(target=target, version=proposal.base_version).first()
    results = findings_compute(
        CheckInput(
            rules=rules,
            content_kind=target.content_kind,
            patch_type=target.patch_type,
            schema=target.schema,
            patch=proposal.patch,
            reasoning=proposal.reasoning,
            base_version=proposal.base_version,
            base_content_hash=proposal.base_content_hash,
            base_content=base.content if base else current.content,
            current_version=current.version,
            current_content_hash=current.content_hash,
        )
    )
    if proposal.reverts_id is not None:
        reverted = proposal.reverts
        assert reverted is not None
        results.insert(0, _info_revert(reverted, proposal))
    plan = carry_plan(proposal)
    if plan is not None and plan.reviews:
        results.append(_info_carry(plan))
    raises = sum(1 for finding in results if finding.severity == RAISE)
    proposal.approvals_required = target.required_approvals + raises
    proposal.save(update_fields=["approvals_required", "updated_at"])
    _store(proposal, results)
    if any(finding.severity == BLOCK for finding in results):
        _reject(proposal)
    elif plan is not None:
        _carry_and_apply(proposal, plan)


def _info_carry(plan: CarryPlan) -> FindingResult:
    names = ", ".join(review.reviewer.get_username() for review in plan.reviews)
    revision = plan.from_proposal.revision
    if plan.carried:
        return FindingResult(
            "revision",
            INFO,
            f"The approvals of revision {revision} ({names}) are carried: this revision makes "
            f"the same change (rule {plan.rule}). The test gate ran again.",
        )
    return FindingResult(
        "revision",
        INFO,
        f"The approvals of revision {revision} ({names}) are dropped: this revision makes "
        "another change, so it needs its own review.",
    )


def _carry_and_apply(proposal: Proposal, plan: CarryPlan) -> None:
    # audit.reviews imports audit.access, which imports this module: imported here.
    from audit.reviews import apply_if_ready

    if approvals_carry(proposal=proposal, plan=plan):
        # Both gates passed and the carried approvals may meet the quorum: no further review.
        apply_if_ready(proposal=proposal, actor=ACTOR)


def _info_revert(reverted: TargetVersion, proposal: Proposal) -> FindingResult:
    who = proposal.submitted_by.get_username() if proposal.submitted_by else "the console"
    return FindingResult(
        "revert",
        INFO,
        f"This reverts version {reverted.version} of {reverted.target.name}, proposed by {who}.",
    )


def _store(proposal: Proposal, findings: list[FindingResult]) -> None:
    Finding.objects.bulk_create(
        Finding(proposal=proposal, check_name=f.check_name, severity=f.severity, message=f.message)
        for f in findings
    )
    event_append(
        kind=AUDIT_CHECKED,
        actor=ACTOR,
        payload={
            "patch_hash": proposal.patch_hash,
            "proposal": proposal.pk,
            "approvals_required": proposal.approvals_required,
            "findings": [
                {"check": f.check_name, "severity": f.severity, "message": f.message}
                for f in findings
            ],
        },
        proposal=proposal,
    )


def _reject(proposal: Proposal) -> None:
    reason = "; ".join(
        proposal.findings.filter(severity=BLOCK).order_by("id").values_list("message", flat=True)
    )
    proposal_reject(proposal=proposal, stage=RejectionStage.AUDIT_GATE, reason=reason, actor=ACTOR)
