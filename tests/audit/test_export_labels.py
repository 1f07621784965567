"""Label moves in an export bundle: the stand-alone verifier rebuilds and checks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.checkpoints import checkpoint_sign
from audit.label_moves import label_move_approve, label_move_request
from audit.verifier import BundleInvalid, check_labels, check_lifecycle
from tests.audit.conftest import run_command
from tests.audit.test_export import _verifier
from tests.labels.conftest import apply, rita, rob, routing_target, smith  # noqa: F401


@pytest.fixture
def label_bundle(apply, rita, rob, tmp_path: Path) -> Path:  # noqa: F811
    router = routing_target(on_apply=["staging"])
    apply(router, 2.0)
    move = label_move_request(
        label=router.labels.get(name="production"), to_version=2, percent=10, reason="try",
        user=rita,
    )  # fmt: skip
    label_move_approve(move=move, user=rob)
    checkpoint_sign()
    code, _, err = run_command("export_log", str(tmp_path / "bundle"))
    assert code == 0, err
    return tmp_path / "bundle"


def _events(bundle: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in (bundle / "events.jsonl").read_text().splitlines()]


def test_the_verifier_checks_the_label_moves_of_a_bundle(label_bundle: Path) -> None:
    result = _verifier(label_bundle)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(
        "2 labels, 2 label moves; 2 checkpoint notes, 1 tlog-proofs"
    )


def test_a_label_move_to_a_version_that_does_not_exist_fails_the_history(label_bundle: Path):
    events = _events(label_bundle)
    moved = next(e for e in events if e["kind"] == "LabelMoved" and "request" in e["payload"])
    moved["payload"]["to_version"] = 5
    with pytest.raises(BundleInvalid, match="names version 5, which does not exist"):
        check_labels(events)


def test_a_move_approved_by_nobody_fails_the_lifecycle_rules(label_bundle: Path):
    import json

    keys = json.loads((label_bundle / "keys.json").read_text())
    events = [e for e in _events(label_bundle) if e["kind"] != "LabelMoveApproved"]
    with pytest.raises(BundleInvalid, match="names approvers"):
        check_lifecycle(keys, events)
