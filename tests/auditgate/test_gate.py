"""The automated audit checks, run by the test gate's pass: findings, rejections, raises."""

from __future__ import annotations

import pytest

from audit.models import Finding
from patches.models import Event, ProposalStatus, Target
from tests.auditgate.conftest import json_patch, proposal_make, routing_target, weight

pytestmark = pytest.mark.django_db


def severities(proposal) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f.check_name: f.severity for f in proposal.findings.exclude(severity="info")}


def test_a_clean_patch_gets_only_info_findings_and_the_targets_approvals(agent):
    target = routing_target(required_approvals=2)
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    assert proposal.status == ProposalStatus.IN_REVIEW
    assert proposal.approvals_required == 2
    (finding,) = proposal.findings.all()
    assert (finding.check_name, finding.severity) == ("size_budget", "info")
    assert finding.message == "The patch has 1 operation (budget 25)."
    event = Event.objects.get(kind="AuditChecked")
    assert event.payload_value["approvals_required"] == 2


def test_a_blocked_protected_path_rejects_at_the_audit_gate_naming_the_path(agent):
    target = routing_target(
        audit_rules={"protected_paths": [{"pattern": "/routes/*/weight", "effect": "block"}]}
    )
    proposal = proposal_make(agent, target, weight("billing", 2.0))
    assert proposal.status == ProposalStatus.REJECTED
    assert proposal.stage == "audit_gate"
    assert proposal.reason == (
        "The patch changes protected path /routes/*/weight (at /routes/billing/weight); "
        "this target does not allow it."
    )
    rejected = Event.objects.get(kind="PatchRejected")
    assert rejected.actor == "system:audit_gate"
    assert rejected.payload_value["stage"] == "audit_gate"


def test_a_protected_path_is_touched_by_adding_or_removing_a_whole_route(agent):
    target = routing_target(
        audit_rules={"protected_paths": [{"pattern": "/routes/*/weight", "effect": "raise"}]}
    )
    proposal = proposal_make(agent, target, json_patch({"op": "remove", "path": "/routes/tech"}))
    assert severities(proposal) == {"protected_path": "raise"}
    assert "/routes/tech/weight" in proposal.findings.get(check_name="protected_path").message


def test_a_patch_beside_a_protected_path_is_not_flagged(agent):
    target = routing_target(audit_rules={"protected_paths": [{"pattern": "/routes/*/weight"}]})
    patch = json_patch({"op": "add", "path": "/routes/billing/keywords/bill", "value": 1.0})
    proposal = proposal_make(agent, target, patch)
    assert proposal.status == ProposalStatus.IN_REVIEW
    assert severities(proposal) == {}


def test_each_raise_adds_one_approval_to_the_targets_required_approvals(agent):
    target = routing_target(
        required_approvals=2,
        audit_rules={
            "protected_paths": [{"pattern": "/threshold", "effect": "raise"}],
            "protected_text": [{"text": "general", "effect": "raise"}],
        },
    )
    patch = json_patch(
        {"op": "replace", "path": "/threshold", "value": 2.0},
        {"op": "replace", "path": "/default", "value": "general-support"},
    )
    proposal = proposal_make(agent, target, patch)
    assert severities(proposal) == {"protected_path": "raise", "protected_text": "raise"}
    assert proposal.status == ProposalStatus.IN_REVIEW
    assert proposal.approvals_required == 4


def test_protected_text_that_blocks_rejects_a_patch_changing_a_string_holding_it(agent):
    target = routing_target(audit_rules={"protected_text": [{"text": "gener", "effect": "block"}]})
    proposal = proposal_make(
        agent, target, json_patch({"op": "replace", "path": "/default", "value": "billing"})
    )
    assert proposal.status == ProposalStatus.REJECTED
    assert "protected text 'gener'" in proposal.reason


def test_going_over_the_operations_budget_raises(agent):
    target = routing_target(audit_rules={"max_ops": 1})
    patch = json_patch(
        {"op": "replace", "path": "/threshold", "value": 2.0},
        {"op": "replace", "path": "/default", "value": "billing"},
    )
    proposal = proposal_make(agent, target, patch)
    finding = proposal.findings.get(check_name="size_budget")
    assert finding.severity == "raise"
    assert finding.message == (
        "The patch has 2 operations, over the target's budget of 1; one more approval is needed."
    )
    assert proposal.approvals_required == 2


def test_a_blocking_budget_rejects(agent):
    target = routing_target(audit_rules={"max_ops": 0, "budget_effect": "block"})
    proposal = proposal_make(agent, target, weight("tech", 3.0))
    assert proposal.status == ProposalStatus.REJECTED
    assert proposal.reason == "The patch has 1 operation, over the target's budget of 0; rejected."


def test_short_reasoning_raises_and_empty_reasoning_blocks(agent):
    target = routing_target(audit_rules={"min_reasoning_chars": 30})
    short = proposal_make(agent, target, weight("tech", 3.0), reasoning="Tweak.")
    assert severities(short) == {"reasoning": "raise"}
    assert "only 6 characters" in short.findings.get(check_name="reasoning").message
    empty = proposal_make(agent, target, weight("tech", 4.0), reasoning="   ")
    assert empty.status == ProposalStatus.REJECTED
    assert empty.reason == "The proposal gives no reasoning for the change."


def test_a_patch_whose_result_breaks_the_target_schema_is_blocked(agent):
    schema = {"properties": {"threshold": {"type": "number", "maximum": 5}}}
    target = routing_target(schema=schema)
    proposal = proposal_make(
        agent, target, json_patch({"op": "replace", "path": "/threshold", "value": 9})
    )
    assert proposal.status == ProposalStatus.REJECTED
    assert proposal.reason.startswith(
        "The patched content breaks the target's schema: target schema at /threshold"
    )


def test_a_patch_that_no_longer_applies_is_blocked(agent):
    target = routing_target()
    proposal = proposal_make(agent, target, json_patch({"op": "remove", "path": "/routes/sales"}))
    assert proposal.status == ProposalStatus.REJECTED
    assert proposal.reason.startswith("The patch does not apply to version 1:")


def test_a_stale_base_is_blocked_with_both_versions():
    from audit.findings import CheckInput, findings_compute
    from patches.audit_rules import audit_rules_validate

    check = CheckInput(
        rules=audit_rules_validate({}),
        content_kind="json",
        patch_type="Config",
        schema=None,
        patch="[]",
        reasoning="A perfectly fine reason for this.",
        base_version=3,
        base_content_hash="sha256:" + "1" * 64,
        base_content="{}",
        current_version=4,
        current_content_hash="sha256:" + "2" * 64,
    )
    (finding,) = findings_compute(check)
    assert (finding.check_name, finding.severity) == ("compatibility", "block")
    assert finding.message == (
        "The base is stale: the patch was written against version 3, but the target is now at version 4."
    )


def test_invalid_audit_rules_block_instead_of_waving_the_patch_through(agent):
    target = routing_target()
    # target_create and the admin form refuse such rules; here they got in some other way.
    Target.objects.filter(pk=target.pk).update(
        audit_rules={"protected_paths": [{"pattern": "routes", "effect": "block"}]}
    )
    target.refresh_from_db()
    proposal = proposal_make(agent, target, weight("tech", 3.0))
    assert proposal.status == ProposalStatus.REJECTED
    assert proposal.reason == (
        "The target's audit rules are invalid: JSON Pointer 'routes' must be empty or start with '/'"
    )
    assert Finding.objects.filter(proposal=proposal, check_name="audit_rules").exists()


def test_a_prompt_patch_editing_the_line_with_protected_text_is_blocked(agent):
    from tests.auditgate.conftest import prompt_target, text_patch

    target = prompt_target(
        audit_rules={"protected_text": [{"text": "Never reveal", "effect": "block"}]}
    )
    blocked = proposal_make(
        agent,
        target,
        text_patch(target, "Never reveal {secret}.", "Never reveal {secret} unless asked."),
    )
    assert blocked.status == ProposalStatus.REJECTED
    assert blocked.reason == (
        "The patch changes protected text 'Never reveal' (or the line holding it); "
        "this target does not allow it."
    )
    allowed = proposal_make(agent, target, text_patch(target, "Line 2 of", "Second line of"))
    assert allowed.status == ProposalStatus.IN_REVIEW
    assert allowed.findings.get().message == "The patch has 2 changed lines (budget 100)."


def test_a_prompt_patch_over_the_changed_lines_budget_raises(agent):
    from tests.auditgate.conftest import prompt_target, text_patch

    target = prompt_target(audit_rules={"max_changed_lines": 3})
    patch = text_patch(
        target,
        "Line 2 of the support prompt.\nLine 3",
        "Line two of the support prompt.\nLine three",
    )
    proposal = proposal_make(agent, target, patch)
    assert severities(proposal) == {"size_budget": "raise"}
    assert proposal.findings.get().message == (
        "The patch has 4 changed lines, over the target's budget of 3; one more approval is needed."
    )
    assert proposal.approvals_required == 2
