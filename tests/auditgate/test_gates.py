"""audit.gates: the test gate, then the audit gate, each once, and nothing decided in between."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.gate import audit_gate_run
from audit.gates import gates_run, gates_sweep
from audit.reviews import ReviewRefused
from patches.lifecycle import proposal_pass_test_gate
from patches.models import Event, GateStatus, ProposalStatus, TestRun
from tests.auditgate.conftest import approve, proposal_make, routing_target, weight

pytestmark = pytest.mark.django_db


def _passed_the_test_gate_only(agent):  # type: ignore[no-untyped-def]
    proposal = proposal_make(agent, routing_target(), weight("billing", 2.0), passed=False)
    TestRun.objects.filter(proposal=proposal).update(
        status=GateStatus.PASSED, finished_at=timezone.now() - timedelta(minutes=10)
    )
    return proposal_pass_test_gate(proposal=proposal)


def test_a_proposal_the_audit_gate_has_not_checked_cannot_be_decided(agent, rita):
    proposal = _passed_the_test_gate_only(agent)
    assert proposal.status == ProposalStatus.IN_REVIEW
    with pytest.raises(ReviewRefused, match="audit gate has not checked this proposal"):
        approve(proposal, rita)
    assert not proposal.reviews.exists()

    audit_gate_run(proposal_id=proposal.pk)
    approve(proposal, rita)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPLIED


def test_the_sweep_publishes_again_a_proposal_whose_audit_gate_never_ran(
    agent, monkeypatch, django_capture_on_commit_callbacks
):
    proposal = _passed_the_test_gate_only(agent)
    published: list[int] = []
    monkeypatch.setattr("audit.gates._publish", published.append)
    with django_capture_on_commit_callbacks(execute=True):
        assert gates_sweep() == [proposal.pk]
    assert published == [proposal.pk]

    audit_gate_run(proposal_id=proposal.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert gates_sweep() == []
    assert published == [proposal.pk]


def test_running_the_gates_again_records_each_gate_once(agent):
    proposal = proposal_make(agent, routing_target(), weight("billing", 2.0), passed=False)
    for _ in range(3):  # a redelivered task, or the sweep and the submit both publishing
        assert gates_run(proposal_id=proposal.pk) is None
    kinds = list(Event.objects.filter(proposal=proposal).values_list("kind", flat=True))
    assert kinds.count("TestGatePassed") == 1
    assert kinds.count("AuditChecked") == 1
    assert kinds.index("TestGatePassed") < kinds.index("AuditChecked")


def test_the_audit_gate_leaves_a_decided_proposal_alone(agent):
    proposal = _passed_the_test_gate_only(agent)
    proposal.status = ProposalStatus.WITHDRAWN
    proposal.save(update_fields=["status"])
    audit_gate_run(proposal_id=proposal.pk)
    assert not Event.objects.filter(proposal=proposal, kind="AuditChecked").exists()
    assert not proposal.findings.exists()
