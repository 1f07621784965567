"""An upgraded database keeps its old checkpoints valid next to new ones signed as C2SP notes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

from tests.migrations.test_upgrade import ROOT, _manage, old_database  # noqa: F401 (fixture)


def test_the_old_log_gets_a_tree_and_a_signed_note_and_every_checkpoint_still_verifies(
    old_database,  # noqa: F811
):
    assert _manage(old_database, "migrate", "--noinput").returncode == 0
    bundle = old_database.parent / "bundle"
    exported = _manage(old_database, "export_log", str(bundle))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["events"] == 27  # 26 old + the export's CheckpointSigned
    with sqlite3.connect(old_database / "console.sqlite3") as connection:
        notes = connection.execute("SELECT seq, note != '' FROM audit_checkpoint ORDER BY seq")
        assert [noted for _seq, noted in notes.fetchall()] == [0, 0, 1]
        (leaves,) = connection.execute("SELECT count(*) FROM audit_merklenode WHERE node % 64 = 0")
    assert leaves == (26,)
    verified = _manage(old_database, "verify_log", "--strict")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK 27 events")
    key = _manage(old_database, "console_key")
    assert key.returncode == 0
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "audit.verifier",
            "--console-key",
            key.stderr.split("key id ")[1].split()[0],
            str(bundle),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "3 checkpoints" in result.stdout and "1 checkpoint notes" in result.stdout
