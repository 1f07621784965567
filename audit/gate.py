"""The audit gate's entry point: automated checks when a proposal reaches review."""

from __future__ import annotations

from patches.models import Proposal


def audit_gate_open(proposal: Proposal) -> None:
    """Set how many approvals the proposal needs (findings are added by the audit checks)."""
    proposal.approvals_required = proposal.target.required_approvals
    proposal.save(update_fields=["approvals_required", "updated_at"])
