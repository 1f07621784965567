"""Label history from the log: replay rebuilds every label, and a log or table that disagrees
is named at its first difference."""

from __future__ import annotations

import pytest

from audit.label_history import LabelHistory, LabelHistoryBroken
from audit.label_moves import label_move_approve, label_move_request
from audit.replay import ReplayMismatch, targets_replay
from audit.verify import verify_lifecycle
from patches.label_models import Label
from patches.labels import label_create
from patches.log import event_append
from patches.rollout import LabelState
from tests.labels.conftest import alice, apply, rita, rob, routing_target, smith  # noqa: F401


def _created(name: str = "router", labels: list[str] | None = None) -> dict:
    payload: dict = {"target": name, "version": 1, "content_hash": "sha256:" + "0" * 64}
    if labels is not None:
        payload["labels"] = labels
    return payload


def _applied(version: int, *, labels_moved: list[str] | None = None) -> dict:
    payload: dict = {"target": "router", "version": version, "patch_hash": f"sha256:{version:064x}"}
    if labels_moved is not None:
        payload["labels_moved"] = labels_moved
    return payload


def _moved(label: str, from_version: int, to_version: int, percent: int = 100, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"target": "router", "label": label, "from_version": from_version,
            "to_version": to_version, "percent": percent, **extra}  # fmt: skip


def test_a_target_from_before_labels_has_a_production_label_that_follows_its_applies():
    history = LabelHistory()
    history.feed(1, "TargetCreated", _created())
    history.feed(2, "PatchApplied", _applied(2))
    history.feed(3, "PatchApplied", _applied(3))
    assert history.finish() == {"router": {"production": LabelState(version=3)}}


def test_after_the_first_apply_that_names_its_labels_only_label_moves_move_them():
    history = LabelHistory()
    history.feed(1, "TargetCreated", _created())
    history.feed(2, "PatchApplied", _applied(2))
    history.feed(3, "PatchApplied", _applied(3, labels_moved=[]))
    history.feed(4, "PatchApplied", _applied(4, labels_moved=["production"]))
    history.feed(5, "LabelMoved", _moved("production", 2, 4, patch_hash=f"sha256:{4:064x}"))
    history.feed(6, "LabelMoved", _moved("production", 4, 3, percent=10))
    assert history.finish() == {
        "router": {"production": LabelState(version=3, from_version=4, percent=10)}
    }


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (_moved("production", 1, 7), "names version 7, which does not exist"),
        (_moved("production", 2, 1), "moves from v2, but the label served v1"),
        (_moved("staging", 1, 2), "no such label"),
        (_moved("production", 1, 2, percent=0), "percent 0 is not 1 to 100"),
        (_moved("production", 1, 2, patch_hash="sha256:x"), "claims the apply"),
    ],
)
def test_a_move_that_names_no_version_or_starts_elsewhere_breaks_the_history(event, problem):
    history = LabelHistory()
    history.feed(1, "TargetCreated", _created(labels=["production"]))
    history.feed(2, "PatchApplied", _applied(2, labels_moved=[]))
    with pytest.raises(LabelHistoryBroken, match=problem) as broken:
        history.feed(3, "LabelMoved", event)
    assert broken.value.seq == 3


def test_an_apply_whose_labels_never_moved_breaks_the_history():
    history = LabelHistory()
    history.feed(1, "TargetCreated", _created(labels=["production"]))
    history.feed(2, "PatchApplied", _applied(2, labels_moved=["production"]))
    with pytest.raises(LabelHistoryBroken, match="no LabelMoved followed"):
        history.finish()


def test_replay_rebuilds_promotions_rollouts_and_new_labels(apply, rita, rob, alice):  # noqa: F811
    router = routing_target(on_apply=["staging"])
    apply(router, 2.0)
    apply(router, 3.0)
    canary = label_create(target=router, name="canary", approvals=0, actor="user:alice")
    label_move_request(label=canary, to_version=3, percent=10, reason="try", user=rita)
    move = label_move_request(
        label=router.labels.get(name="production"), to_version=3, reason="go", user=rita
    )
    label_move_approve(move=move, user=rob)
    result = targets_replay()
    assert (result.labels, result.label_moves) == (3, 4)
    assert verify_lifecycle().ok


def test_replay_names_a_label_edited_in_the_database(apply, db):  # noqa: F811
    router = routing_target()
    apply(router, 2.0)
    Label.objects.filter(name="production").update(version=1)
    with pytest.raises(ReplayMismatch, match="label production: the log leaves it at v2, the "
                       "database has v1"):  # fmt: skip
        targets_replay()


def test_the_lifecycle_rules_refuse_a_move_nobody_requested_or_approved(db):
    routing_target()
    event_append(kind="LabelMoved", actor="user:mallory", payload=_moved("production", 1, 1))
    verified = verify_lifecycle()
    assert not verified.ok and "without an apply or a request" in verified.message


def test_the_lifecycle_rules_refuse_a_self_approved_move(rita):  # noqa: F811
    routing_target()
    request = {"request": 1, "target": "router", "label": "production", "to_version": 1,
               "percent": 100, "requested_by": "rita", "approvals": 1}  # fmt: skip
    event_append(kind="LabelMoveRequested", actor="user:rita", payload=request)
    event_append(
        kind="LabelMoveApproved",
        actor="user:rita",
        payload={"request": 1, "target": "router", "label": "production", "reviewer": "rita"},
    )
    verified = verify_lifecycle()
    assert not verified.ok and "approved their own label move" in verified.message
