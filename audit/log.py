"""Appending to the event log: one writer at a time, each event chained to the one before."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_PREV_HASH, event_bytes
from audit.models import Event
from patches.canonical import canonical_text, format_timestamp, sha256_hash
from patches.models import Proposal

# Any constant works; it names the chain's lock among the database's advisory locks.
_CHAIN_LOCK_KEY = 0x70617463  # "patc"
_INSERT = (
    "INSERT INTO audit_event (seq, kind, actor, payload, created_at, prev_hash, hash, proposal_id)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def chain_lock() -> None:
    """Take the chain's write lock for the rest of the current transaction."""
    if connection.vendor == "postgresql":
        # SELECT … FOR UPDATE of the last row would let two writers both read the same head
        # when the table is empty or the head moves; one transaction-scoped lock cannot fork.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite: transactions begin IMMEDIATE (settings), so the write lock is already ours.


def chain_head() -> tuple[int, str]:
    """(seq, hash) of the last event, or (0, the genesis prev_hash) for an empty log."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
        head = cursor.fetchone()
    return (int(head[0]), str(head[1])) if head else (0, GENESIS_PREV_HASH)


def event_append(
    *, kind: str, actor: str, payload: dict[str, Any], proposal: Proposal | None = None
) -> Event:
    """Append one event in the caller's transaction (or a new one), serialized with all others."""
    # Canonical text is what is stored and what the hash covers, byte for byte.
    payload_text = canonical_text(payload)
    # No savepoint: an event that fails to append must fail the caller's whole transaction.
    with transaction.atomic(savepoint=False):
        chain_lock()
        last_seq, prev_hash = chain_head()
        seq = last_seq + 1
        now = timezone.now()
        data = event_bytes(
            seq=seq,
            kind=kind,
            actor=actor,
            payload_text=payload_text,
            created_at=format_timestamp(now),
            prev_hash=prev_hash,
        )
        event = Event(
            seq=seq,
            kind=kind,
            actor=actor,
            payload=payload_text,
            created_at=now,
            prev_hash=prev_hash,
            hash=sha256_hash(data),
            proposal=proposal,
        )
        # One plain INSERT: the chain's hot path skips the ORM's save machinery (the model has
        # no signals or defaults to run), which costs more than the insert itself here.
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT,
                [
                    seq,
                    kind,
                    actor,
                    payload_text,
                    connection.ops.adapt_datetimefield_value(now),
                    prev_hash,
                    event.hash,
                    proposal.pk if proposal else None,
                ],
            )
        event._state.adding = False
        event._state.db = connection.alias
        return event
