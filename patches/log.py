"""Appending to the event log: one writer at a time, each event chained to the one before."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from patches.canonical import canonical_text, format_timestamp, sha256_hash
from patches.chain import GENESIS_PREV_HASH, event_hash_input, event_mac
from patches.models import Event, Proposal
from patches.signing import event_mac_key

# Any constant works; it names the chain's lock among the database's advisory locks.
CHAIN_LOCK_KEY = 0x70617463  # "patc"


def chain_lock() -> None:
    """Take the chain's write lock for the rest of the current transaction."""
    if connection.vendor == "postgresql":
        # SELECT … FOR UPDATE of the last row would let two writers both read the same head
        # when the table is empty or the head moves; one transaction-scoped lock cannot fork.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # SQLite: transactions begin IMMEDIATE (settings), so the write lock is already ours.


def chain_head() -> tuple[int, str]:
    """(seq, hash) of the last event, or (0, the genesis prev_hash) for an empty log."""
    head = Event.objects.order_by("-seq").values_list("seq", "hash").first()
    return head if head is not None else (0, GENESIS_PREV_HASH)


def event_append(
    *, kind: str, actor: str, payload: dict[str, Any], proposal: Proposal | None = None
) -> Event:
    """Append one event in the caller's transaction (or a new one), serialized with all others.

    Call it last in a transaction: the chain lock it takes is held until COMMIT, so every other
    write of the transaction should already be done, not done while other writers wait.
    """
    # Canonical text is what is stored and what the hash covers, byte for byte.
    payload_text = canonical_text(payload)
    # No savepoint: an event that fails to append must fail the caller's whole transaction.
    with transaction.atomic(savepoint=False):
        chain_lock()
        last_seq, prev_hash = chain_head()
        # Taken under the lock, so created_at never runs backwards along seq.
        now = timezone.now()
        event = Event(
            seq=last_seq + 1,
            kind=kind,
            actor=actor,
            payload=payload_text,
            created_at=now,
            prev_hash=prev_hash,
            proposal=proposal,
        )
        event.hash = sha256_hash(
            event_hash_input(event.seq, kind, actor, payload_text, format_timestamp(now), prev_hash)
        )
        event.mac = event_mac(event_mac_key(), event.hash)
        event.save(force_insert=True)
    return event
