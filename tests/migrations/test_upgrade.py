"""A database made by the previous main migrates without loss: the log verifies and replays."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def _manage(var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'console.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture
def old_database(tmp_path: Path) -> Path:
    var = tmp_path / "var"
    var.mkdir()
    shutil.copy(FIXTURES / "main-d540c8c.sqlite3", var / "console.sqlite3")
    shutil.copy(FIXTURES / "main-d540c8c-console_ed25519.pem", var / "console_ed25519.pem")
    return var


def test_the_previous_mains_database_migrates_and_its_log_still_verifies_and_replays(
    old_database,
):
    database = old_database / "console.sqlite3"
    events_before = _rows(database, "SELECT * FROM audit_event ORDER BY seq")
    checkpoints_before = _rows(database, "SELECT * FROM audit_checkpoint ORDER BY seq")
    assert len(events_before) == 26 and len(checkpoints_before) == 2

    migrated = _manage(old_database, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    assert "Applying audit.0004_event_to_patches... OK" in migrated.stdout
    assert "Applying patches.0003_event... OK" in migrated.stdout
    assert "Applying patches.0004_event_mac... OK" in migrated.stdout

    # Every event is kept as it was, with an empty MAC: written before MACs existed.
    assert _rows(database, "SELECT * FROM audit_event ORDER BY seq") == [
        (*row, "") for row in events_before
    ]
    # Checkpoints are kept too, with an empty note: signed before the transparency log.
    assert _rows(database, "SELECT * FROM audit_checkpoint ORDER BY seq") == [
        (*row, "") for row in checkpoints_before
    ]
    assert _rows(database, "SELECT app_label FROM django_content_type WHERE model = 'event'") == [
        ("patches",)
    ]

    verified = _manage(old_database, "verify_log", "--strict")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK 26 events, head sha256:bb010dee5a01")
    replayed = _manage(old_database, "replay")
    assert replayed.returncode == 0, replayed.stderr
    assert "5 targets, 6 versions" in replayed.stdout


def test_the_one_path_appends_to_a_migrated_log_and_signs_a_checkpoint_over_it(old_database):
    assert _manage(old_database, "migrate", "--noinput").returncode == 0
    agent = _manage(old_database, "agent_create", "late-agent")
    assert agent.returncode == 0, agent.stderr
    database = old_database / "console.sqlite3"
    ((kind, prev_hash),) = _rows(database, "SELECT kind, prev_hash FROM audit_event WHERE seq = 27")
    assert kind == "AgentKeyRegistered"
    assert prev_hash.startswith("sha256:bb010dee5a01")
    verified = _manage(old_database, "verify_log", "--strict")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK 27 events")
