"""Checking seq ranges of the chain in worker processes, each with its own connection (no Django).

Every event's check needs only its own row and the stored hash before it, so disjoint ranges
verify independently: range k starts from the stored hash at its first seq - 1, which range k-1
checks. Workers are forked after the caller closed its own connections, open their own read
connection and report only pass/fail; on any failure the caller re-runs the sequential check for
the exact first bad seq.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from patches.chain import GENESIS_PREV_HASH, ChainBroken, ChainChecker

CHUNK_SIZE = 20_000


@dataclass(frozen=True)
class RangeTask:
    vendor: str  # "sqlite" or "postgresql"
    database: dict[str, Any]  # sqlite: {"path"}; postgresql: psycopg.connect keyword arguments
    created_at_sql: str
    after: int
    upto: int
    trusted_upto: int
    checkpoints: dict[int, tuple[str, str | None]]
    mac_key: bytes | None
    mac_from: int
    console_keys: dict[str, bytes]


@dataclass(frozen=True)
class RangeResult:
    count: int
    head: str
    problem: str | None = None


def _connect(task: RangeTask) -> Any:
    if task.vendor == "sqlite":
        return sqlite3.connect(f"file:{task.database['path']}?mode=ro", uri=True)
    import psycopg

    # No prepared statements: a generic plan for "seq > $1 AND seq <= $2 … LIMIT $3" can be far
    # worse than the plan for the actual values, which is what Django's own cursors get.
    return psycopg.connect(**task.database, prepare_threshold=None)


def range_check(task: RangeTask) -> RangeResult:
    """Check events (after, upto]; never raises for a broken chain, reports it instead."""
    mark = "?" if task.vendor == "sqlite" else "%s"
    select = (
        f"SELECT seq, kind, actor, payload, {task.created_at_sql}, prev_hash, hash, mac "  # noqa: S608
        f"FROM audit_event WHERE seq > {mark} AND seq <= {mark} ORDER BY seq LIMIT {mark}"
    )
    checker = ChainChecker(
        trusted_upto=task.trusted_upto,
        checkpoints=task.checkpoints,
        mac_key=task.mac_key,
        mac_from=task.mac_from,
        console_keys=task.console_keys,
    )
    connection = _connect(task)
    try:
        cursor = connection.cursor()
        if task.after:
            cursor.execute(f"SELECT hash FROM audit_event WHERE seq = {mark}", [task.after])  # noqa: S608
            start = cursor.fetchone()
            if start is None:
                return RangeResult(0, GENESIS_PREV_HASH, f"no event at seq {task.after}")
            checker.last_seq, checker.head = task.after, start[0]
        last = task.after
        while True:
            cursor.execute(select, [last, task.upto, CHUNK_SIZE])
            rows = cursor.fetchall()
            if rows:
                checker.feed(rows)
                last = rows[-1][0]
            if len(rows) < CHUNK_SIZE:
                break
    except ChainBroken as broken:
        return RangeResult(checker.count, checker.head, str(broken))
    finally:
        connection.close()
    if checker.last_seq != task.upto:
        return RangeResult(checker.count, checker.head, f"range ends at seq {checker.last_seq}")
    return RangeResult(checker.count, checker.head)
