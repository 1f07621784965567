"""The hash chain, pure: how an event's hash is computed from its fields and its predecessor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from patches.canonical import ZERO_HASH, canonical, sha256_hash

GENESIS_PREV_HASH = ZERO_HASH


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds: 2026-11-25T20:31:10.123456Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *, seq: int, kind: str, actor: str, payload: Any, created_at: str, prev_hash: str
) -> str:
    return sha256_hash(
        canonical(
            {
                "seq": seq,
                "kind": kind,
                "actor": actor,
                "payload": payload,
                "created_at": created_at,
                "prev_hash": prev_hash,
            }
        )
    )
