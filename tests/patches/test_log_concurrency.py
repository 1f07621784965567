"""Concurrent appends on PostgreSQL: eight writers, one chain, no gaps, no forks, and time that
never runs backwards along seq."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from audit.verify import verify_chain
from patches.log import event_append
from patches.models import Event

WRITERS = 8
EVENTS_EACH = 500


def _write(writer: int) -> list[int]:
    try:
        return [
            event_append(
                kind="Thing", actor=f"user:writer{writer}", payload={"writer": writer, "n": n}
            ).seq
            for n in range(EVENTS_EACH)
        ]
    finally:
        connection.close()  # this thread's own connection


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_make_one_unbroken_chain() -> None:
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(_write, range(WRITERS)))
    seqs = sorted(seq for result in results for seq in result)
    assert seqs == list(range(1, WRITERS * EVENTS_EACH + 1))
    # No fork: every prev_hash is used once, by the event right after the one it names.
    assert Event.objects.values("prev_hash").distinct().count() == WRITERS * EVENTS_EACH
    # Each writer's events are in its own order.
    assert all(result == sorted(result) for result in results)
    # created_at is taken under the chain lock: it never runs backwards along seq.
    stamps = list(Event.objects.order_by("seq").values_list("created_at", flat=True))
    assert stamps == sorted(stamps)
    verification = verify_chain()
    assert verification.ok, verification.message
    assert verification.count == WRITERS * EVENTS_EACH
