"""Appending to the event log: one writer at a time, each event chained to the one before."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_PREV_HASH, event_hash, format_timestamp
from audit.models import Event
from patches.canonical import canonical_text, parse_json
from patches.models import Proposal

# Any constant works; it names the chain's lock among the database's advisory locks.
_CHAIN_LOCK_KEY = 0x70617463  # "patc"


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        # SELECT … FOR UPDATE of the last row would let two writers both read the same head
        # when the table is empty or the head moves; one transaction-scoped lock cannot fork.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite: transactions begin IMMEDIATE (settings), so the write lock is already ours.


def event_append(
    *, kind: str, actor: str, payload: dict[str, Any], proposal: Proposal | None = None
) -> Event:
    """Append one event in the caller's transaction (or a new one), serialized with all others."""
    with transaction.atomic():
        _lock_chain()
        head = Event.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_PREV_HASH)
        payload_text = canonical_text(payload)
        # The stored payload is parsed back so the hash covers exactly what a verifier reads.
        stored_payload = parse_json(payload_text)
        now = timezone.now()
        created_at = format_timestamp(now)
        return Event.objects.create(
            seq=seq,
            kind=kind,
            actor=actor,
            payload=payload_text,
            created_at=now,
            prev_hash=prev_hash,
            hash=event_hash(
                seq=seq,
                kind=kind,
                actor=actor,
                payload=stored_payload,
                created_at=created_at,
                prev_hash=prev_hash,
            ),
            proposal=proposal,
        )
