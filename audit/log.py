"""Appending to the event log: one writer at a time, each event chained to the one before."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import (
    GENESIS_PREV_HASH,
    PREV_HASH_TO_SEQ,
    event_bytes,
    event_bytes_after,
    event_text_before_prev_hash,
)
from audit.models import Event
from patches.canonical import canonical_text, format_timestamp, sha256_hash
from patches.models import Proposal

# Any constant works; it names the chain's lock among the database's advisory locks.
_CHAIN_LOCK_KEY = 0x70617463  # "patc"
_COLUMNS = "seq, kind, actor, payload, created_at, prev_hash, hash, proposal_id"
_INSERT = f"INSERT INTO audit_event ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
_LOCK = "SELECT pg_advisory_xact_lock(%s)"
# ChainWriter's append: the event after the head as it is once the chain lock is held
# (audit_chain_head_locked, migration audit 0003), its hash input completed as
# audit.chain.event_bytes lays it out.
_APPEND_AFTER_HEAD = (
    f"INSERT INTO audit_event ({_COLUMNS})"  # noqa: S608
    " SELECT h.seq + 1, %s, %s, %s, %s, h.hash,"
    " 'sha256:' || encode(sha256(convert_to("
    "%s::text || h.hash || %s::text || (h.seq + 1)::text || '}', 'UTF8')), 'hex'), %s"
    " FROM audit_chain_head_locked(%s, %s) h"
    " RETURNING seq, prev_hash, hash"
)


def chain_lock() -> None:
    """Take the chain's write lock for the rest of the current transaction."""
    if connection.vendor == "postgresql":
        # SELECT … FOR UPDATE of the last row would let two writers both read the same head
        # when the table is empty or the head moves; one transaction-scoped lock cannot fork.
        with connection.cursor() as cursor:
            cursor.execute(_LOCK, [_CHAIN_LOCK_KEY])
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


class ChainMismatch(RuntimeError):
    """PostgreSQL completed an event's hash input differently from audit.chain.event_bytes."""


class ChainWriter:
    """Appending an event from inside a caller's own statement (PostgreSQL).

    For the submit path (patches.store), which stores its rows and their event in one
    statement: append_after_head() gives an INSERT … RETURNING that takes the chain lock and
    reads the head in a fresh snapshot once the lock is held (audit_chain_head_locked), as
    chain_lock() and chain_head() do, so the lock is never held while waiting for a client. The
    head's hash and the next seq are the only parts of the hash input the client cannot know
    in advance, so the INSERT writes them into the text event_bytes would build
    (event_text_before_prev_hash, PREV_HASH_TO_SEQ) and hashes that with SHA-256.
    check_appended() recomputes the hash in Python from what the INSERT returned;
    tests/audit/test_chain_writer.py checks both agree and verify_log passes.
    """

    @staticmethod
    def append_after_head(
        *, kind: str, actor: str, payload: dict[str, Any], proposal_id: int | None
    ) -> tuple[str, list[Any], str]:
        """(INSERT … RETURNING seq, prev_hash, hash; its parameters; the text before prev_hash)."""
        payload_text = canonical_text(payload)
        now = timezone.now()
        before = event_text_before_prev_hash(
            kind=kind, actor=actor, payload_text=payload_text, created_at=format_timestamp(now)
        )
        params = [
            kind,
            actor,
            payload_text,
            connection.ops.adapt_datetimefield_value(now),
            before,
            PREV_HASH_TO_SEQ,
            proposal_id,
            _CHAIN_LOCK_KEY,
            GENESIS_PREV_HASH,
        ]
        return _APPEND_AFTER_HEAD, params, before

    @staticmethod
    def check_appended(before: str, appended: tuple[int, str, str]) -> None:
        """Raise ChainMismatch unless the stored hash is the one event_bytes defines."""
        seq, prev_hash, stored = appended
        expected = sha256_hash(event_bytes_after(before, prev_hash=prev_hash, seq=seq))
        if stored != expected:
            raise ChainMismatch(f"event {seq}: stored hash {stored}, event_bytes gives {expected}")
