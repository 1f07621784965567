"""The event log's move from audit to patches, on the suite's own backend (PostgreSQL in CI too):
events written under the old state are the same rows, and verify, under the new one."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.verifier import event_hash
from audit.verify import verify_chain
from patches.canonical import canonical_text, format_timestamp
from patches.chain import GENESIS_PREV_HASH
from patches.models import Event

BEFORE = [("audit", "0003_chain_head_locked"), ("patches", "0002_testgate_lease")]


def _migrate(targets: list[tuple[str, str]]) -> object:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_events_written_before_the_move_are_the_patches_events_after_it():
    old_apps = _migrate(BEFORE)
    old_event = old_apps.get_model("audit", "Event")  # type: ignore[attr-defined]
    prev_hash = GENESIS_PREV_HASH
    hashes = []
    for seq in (1, 2, 3):
        now = timezone.now()
        payload = {"target": f"t{seq}", "note": "written under audit.Event"}
        digest = event_hash(
            seq=seq,
            kind="TargetCreated",
            actor="system:old-main",
            payload=payload,
            created_at=format_timestamp(now),
            prev_hash=prev_hash,
        )
        old_event.objects.create(
            seq=seq,
            kind="TargetCreated",
            actor="system:old-main",
            payload=canonical_text(payload),
            created_at=now,
            prev_hash=prev_hash,
            hash=digest,
        )
        prev_hash = digest
        hashes.append(digest)

    call_command("migrate", verbosity=0)

    assert list(Event.objects.values_list("seq", "hash")) == list(enumerate(hashes, start=1))
    result = verify_chain(strict=True)
    assert result.ok, result.message
    assert result.message.startswith(f"OK 3 events, head {prev_hash}")
