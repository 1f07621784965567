"""ChainWriter: events whose hash PostgreSQL completes verify exactly as event_append's do."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from audit.chain import GENESIS_PREV_HASH, event_hash
from audit.log import ChainMismatch, ChainWriter, event_append
from audit.models import Event
from audit.verify import verify_chain
from patches.canonical import format_timestamp

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Text that any layer between Python and PostgreSQL could mangle: quotes, backslashes, control
# characters, non-ASCII, characters outside the BMP, JSON's line separators.
TRICKY = [
    "plain",
    'a "quoted" word and a \\ backslash',
    "controls \x01\x1f\x7f tab\tnewline\n",
    "é ü 中文 \u2028\u2029",
    "emoji 😀 and 𝄞",
]


def _append(*, kind: str, actor: str, payload: dict[str, Any]) -> tuple[int, str, str]:
    writer = ChainWriter()
    sql, params, before = writer.append_after_head(
        kind=kind, actor=actor, payload=payload, proposal_id=None
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        appended = cursor.fetchone()
    writer.check_appended(before, appended)
    return appended


def test_the_first_event_of_an_empty_log_links_to_the_genesis_hash():
    seq, prev_hash, stored = _append(kind="Thing", actor="user:test", payload={"n": 1})
    event = Event.objects.get(seq=1)
    assert (seq, prev_hash) == (1, GENESIS_PREV_HASH)
    assert (
        stored
        == event.hash
        == event_hash(
            seq=1,
            kind="Thing",
            actor="user:test",
            payload={"n": 1},
            created_at=format_timestamp(event.created_at),
            prev_hash=GENESIS_PREV_HASH,
        )
    )


@pytest.mark.parametrize("text", TRICKY)
def test_its_events_and_event_appends_interleave_into_one_verifying_chain(text):
    for n in range(3):
        _append(kind="Thing", actor=f'agent:"{text}"', payload={"text": text, "n": n})
        event_append(kind="Other", actor="user:test", payload={"text": text, "n": n})
    events = list(Event.objects.order_by("seq"))
    assert [event.seq for event in events] == list(range(1, 7))
    for event in events:
        assert event.hash == event_hash(
            seq=event.seq,
            kind=event.kind,
            actor=event.actor,
            payload=event.payload_value,
            created_at=format_timestamp(event.created_at),
            prev_hash=event.prev_hash,
        )
    verified = verify_chain(strict=True)
    assert verified.ok and verified.count == 6, verified.message


def test_a_stored_hash_that_event_bytes_would_not_give_is_reported():
    *_, before = ChainWriter.append_after_head(
        kind="Thing", actor="user:test", payload={}, proposal_id=None
    )
    with pytest.raises(ChainMismatch, match="event 1"):
        ChainWriter.check_appended(before, (1, GENESIS_PREV_HASH, "sha256:" + "0" * 64))
