"""target_create --on-apply, label_create and label_move: JSON on stdout, clear errors."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from patches.label_models import Label
from patches.models import Event, Target
from tests.factories import ROUTING
from tests.labels.conftest import routing_target


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_target_create_on_apply_creates_those_labels_at_genesis(db, tmp_path):
    content = tmp_path / "router.json"
    content.write_text(json.dumps(ROUTING))
    run("target_create", "router", "--type", "Routing", "--content-file", str(content),
        "--on-apply", "staging,canary")  # fmt: skip
    router = Target.objects.get(name="router")
    assert router.on_apply == ["staging", "canary"]
    assert sorted(router.labels.values_list("name", "version")) == [
        ("canary", 1), ("production", 1), ("staging", 1),
    ]  # fmt: skip
    created = Event.objects.get(kind="TargetCreated").payload_value
    assert created["labels"] == ["canary", "production", "staging"]
    assert created["on_apply"] == ["staging", "canary"]


def test_target_create_refuses_an_on_apply_label_that_is_no_slug(db, tmp_path):
    content = tmp_path / "router.json"
    content.write_text(json.dumps(ROUTING))
    with pytest.raises(CommandError, match="not a slug"):
        run("target_create", "router", "--type", "Routing", "--content-file", str(content),
            "--on-apply", "pro duction")  # fmt: skip
    assert not Target.objects.exists()


def test_label_create_prints_the_label_where_production_points(db):
    routing_target()
    assert run("label_create", "router", "canary", "--approvals", "0") == {
        "target": "router", "label": "canary", "version": 1,
    }  # fmt: skip
    assert Label.objects.get(name="canary").approvals == 0
    for args, message in (
        (("router", "canary"), "already has a label"),
        (("nope", "canary"), "no target named"),
        (("router", "Bad Name"), "not a slug"),
        (("router", "x", "--approvals", "-1"), "approvals must be 0"),
    ):
        with pytest.raises(CommandError, match=message):
            run("label_create", *args)
    assert Label.objects.count() == 2


def test_label_move_prints_moved_for_quorum_zero_and_waiting_otherwise(db, rita, apply):
    router = routing_target(on_apply=[])
    apply(router, 2.0)
    run("label_create", "router", "canary", "--approvals", "0")
    assert run("label_move", "router", "canary", "2", "--reason", "try", "--by", "rita",
               "--percent", "10")["status"] == "moved"  # fmt: skip
    canary = Label.objects.get(name="canary")
    assert (canary.version, canary.from_version, canary.percent) == (2, 1, 10)
    waiting = run("label_move", "router", "production", "2", "--reason", "go", "--by", "rita")
    assert waiting["status"] == "waiting" and isinstance(waiting["request"], int)
    for args, message in (
        (("router", "production", "9", "--reason", "x", "--by", "rita"), "has no version 9"),
        (("router", "production", "2", "--reason", " ", "--by", "rita"), "needs a reason"),
        (("router", "production", "2", "--reason", "x", "--by", "nobody"), "no user"),
        (("router", "nope", "2", "--reason", "x", "--by", "rita"), "has no label"),
        (("router", "canary", "2", "--reason", "x", "--by", "rita", "--percent", "101"),
         "percent must be"),
    ):  # fmt: skip
        with pytest.raises(CommandError, match=message):
            run("label_move", *args)
