"""The previous main's database gets a production label per target at its current version, and
replay rebuilds exactly that from a log written before labels existed."""

from __future__ import annotations

from pathlib import Path

from tests.migrations.test_upgrade import _manage, _rows, old_database  # noqa: F401


def test_existing_targets_get_production_at_their_version_and_replay_agrees(old_database: Path):  # noqa: F811
    assert _manage(old_database, "migrate", "--noinput").returncode == 0
    database = old_database / "console.sqlite3"
    labels = _rows(
        database,
        "SELECT t.name, l.name, l.version, t.version, t.on_apply FROM patches_label l "
        "JOIN patches_target t ON t.id = l.target_id ORDER BY t.name",
    )
    assert len(labels) == 5
    for _target, label, version, current, on_apply in labels:
        assert (label, version, on_apply) == ("production", current, '["production"]')
    replayed = _manage(old_database, "replay")
    assert replayed.returncode == 0, replayed.stderr
    assert "5 targets, 6 versions, 5 labels, 0 label moves" in replayed.stdout
