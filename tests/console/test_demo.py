"""The demo seed of `make run`: one target per patch type, accounts, an agent, proposals; twice is once."""

from __future__ import annotations

import pytest

from console.demo import demo_seed
from patches.models import Agent, Event, PatchType, Proposal, Target, TestDefinition


@pytest.mark.django_db
def test_seeding_twice_creates_everything_once_and_keeps_the_credentials(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first = demo_seed()
    counts = (Target.objects.count(), TestDefinition.objects.count(), Proposal.objects.count())
    events = Event.objects.count()

    second = demo_seed()

    assert second == first
    assert (
        Target.objects.count(),
        TestDefinition.objects.count(),
        Proposal.objects.count(),
    ) == counts
    assert Event.objects.count() == events
    assert set(Target.objects.values_list("patch_type", flat=True)) == set(PatchType.values)
    assert all(t.mandatory_tests.exists() for t in Target.objects.all())
    assert Agent.objects.filter(name="demo-agent").exists()
    assert {"reviewer", "reviewer2", "admin", "demo-agent"} <= set(first)
    assert (tmp_path / "demo_credentials.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.django_db
def test_the_demo_proposals_are_signed_submissions_waiting_for_their_gates(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    demo_seed()
    proposals = list(
        Proposal.objects.filter(status="testing").select_related("target").order_by("pk")
    )
    assert [p.target.name for p in proposals] == [
        "system_prompt",
        "support_routing",
        "runtime_config",
    ]
    assert all(p.signatures.count() == 1 for p in proposals)
    assert Event.objects.filter(kind="PatchProposed").count() == 6


@pytest.mark.django_db
def test_the_demo_system_prompt_has_three_versions_an_applied_and_a_rejected_proposal(
    settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    demo_seed()
    target = Target.objects.get(name="system_prompt")
    assert target.version == 3
    decided = Proposal.objects.filter(target=target).exclude(status="testing").order_by("pk")
    assert [p.status for p in decided] == ["applied", "applied", "rejected"]
    rejected = decided.last()
    assert rejected is not None and rejected.stage == "audit_gate"
    assert rejected.reviews.get().reviewer.username == "reviewer2"
    waiting = Proposal.objects.get(target=target, status="testing")
    assert waiting.base_version == 3
