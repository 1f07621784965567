"""Reviewed label moves: the quorum of people other than the requester, bound to the state
the requester saw; every refusal stores nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from audit.label_moves import LabelMoveRefused, label_move_approve, label_move_request
from audit.models import LabelMoveApproval, LabelMoveRequest
from patches.label_models import Label
from patches.models import Event
from tests.factories import make_reviewer
from tests.labels.conftest import events_of, routing_target


def _state() -> tuple[int, int, int, list[tuple[int, int]]]:
    labels = list(Label.objects.order_by("pk").values_list("version", "percent"))
    return (
        Event.objects.count(),
        LabelMoveRequest.objects.count(),
        LabelMoveApproval.objects.count(),
        labels,
    )


def test_a_label_with_quorum_two_moves_on_the_second_approval(apply, rita, rob):
    router = routing_target(on_apply=[])
    apply(router, 2.0)
    router.labels.filter(name="production").update(approvals=2)
    production = router.labels.get(name="production")
    move = label_move_request(label=production, to_version=2, reason="go", user=rita)
    assert move.approvals_required == 2
    label_move_approve(move=move, user=rob)
    production.refresh_from_db()
    assert production.version == 1
    label_move_approve(move=move, user=make_reviewer("sam"))
    production.refresh_from_db()
    assert production.version == 2
    assert events_of("LabelMoved")[-1]["approved_by"] == ["rob", "sam"]


@pytest.fixture
def waiting(apply, rita):  # type: ignore[no-untyped-def]
    router = routing_target(on_apply=["staging"])
    apply(router, 2.0)
    production = router.labels.get(name="production")
    return label_move_request(label=production, to_version=2, reason="promote", user=rita)


def test_the_requester_cannot_approve_and_nothing_is_stored(waiting, rita):
    before = _state()
    with pytest.raises(LabelMoveRefused, match="someone else must approve"):
        label_move_approve(move=waiting, user=rita)
    assert _state() == before


def test_a_person_who_may_not_review_the_target_cannot_approve(waiting):
    outsider = User.objects.create_user(username="otto", password="x" * 12)
    before = _state()
    with pytest.raises(LabelMoveRefused, match="reviewers"):
        label_move_approve(move=waiting, user=outsider)
    with pytest.raises(LabelMoveRefused, match="reviewers"):
        label_move_request(label=waiting.label, to_version=1, reason="no", user=outsider)
    assert _state() == before


def test_an_approval_after_the_label_moved_otherwise_is_refused(waiting, apply, rob):
    # A quick move of production (its quorum lowered to 0) changes what rita's request saw.
    router = waiting.label.target
    production = waiting.label
    Label.objects.filter(pk=production.pk).update(approvals=0)
    quick = label_move_request(label=production, to_version=2, percent=50, reason="half", user=rob)
    assert quick.status == "moved"
    before = _state()
    with pytest.raises(LabelMoveRefused, match="moved since this request"):
        label_move_approve(move=waiting, user=make_reviewer("sam"))
    assert _state() == before
    assert router.labels.get(name="production").percent == 50


def test_a_second_approval_by_the_same_person_is_refused(apply, rita, rob):
    router = routing_target(on_apply=[])
    apply(router, 2.0)
    router.labels.filter(name="production").update(approvals=2)
    move = label_move_request(
        label=router.labels.get(name="production"), to_version=2, reason="go", user=rita
    )
    label_move_approve(move=move, user=rob)
    before = _state()
    with pytest.raises(LabelMoveRefused, match="already approved"):
        label_move_approve(move=move, user=rob)
    assert _state() == before


def test_the_requester_withdraws_a_waiting_move_and_it_can_no_longer_be_approved(waiting, rob):
    from audit.label_moves import label_move_withdraw
    from audit.verify import verify_lifecycle

    before = _state()
    with pytest.raises(LabelMoveRefused, match="Only the person who requested"):
        label_move_withdraw(move=waiting, user=rob)
    assert _state() == before
    label_move_withdraw(move=waiting, user=waiting.requested_by)
    waiting.refresh_from_db()
    assert waiting.status == "withdrawn"
    assert events_of("LabelMoveWithdrawn")[0]["request"] == waiting.pk
    with pytest.raises(LabelMoveRefused, match="only waiting requests"):
        label_move_approve(move=waiting, user=rob)
    assert waiting.label.target.labels.get(name="production").version == 1
    assert verify_lifecycle().ok
