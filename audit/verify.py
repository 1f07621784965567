"""Verifying the event log in the database: hashes, MACs, links, checkpoints, the lifecycle."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, connections

from audit.lifecycle_rules import LIFECYCLE_KINDS, Account, LifecycleBroken, LifecycleChecker
from audit.log_head import log_head_read
from audit.models import Checkpoint
from audit.verify_ranges import RangeTask, range_check
from patches.canonical import format_timestamp
from patches.chain import ChainBroken, ChainChecker, EventRow, checkpoint_statement_problem
from patches.models import Event
from patches.signing import console_verifier_keys, event_mac_key

CHUNK_SIZE = 20_000
# Below this many events, starting worker processes costs more than it saves.
PARALLEL_MIN_EVENTS = 200_000


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    count: int  # events checked (all of them when ok)
    head: str  # the last good hash
    seq: int | None = None  # the first bad seq when not ok
    message: str = ""

    def __str__(self) -> str:
        return self.message


def _created_at_sql() -> str:
    # RFC 3339 text built by the database, so the hot loop does no datetime work.
    if connection.vendor == "postgresql":
        return """to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    # Django stores naive UTC "YYYY-MM-DD HH:MM:SS[.ffffff]" on SQLite (no fraction when zero).
    return (
        "substr(created_at, 1, 10) || 'T' || substr(created_at, 12, 8) || "
        "CASE WHEN length(created_at) = 19 THEN '.000000' ELSE substr(created_at, 20) END || 'Z'"
    )


def event_rows(
    *, after: int = 0, upto: int | None = None, chunk_size: int = CHUNK_SIZE
) -> Iterator[list[EventRow]]:
    """Chunks of events in seq order, read with a raw cursor and keyset pagination."""
    bound = " AND seq <= %s" if upto is not None else ""
    # Only fixed fragments are interpolated; values go in as parameters.
    sql = (
        f"SELECT seq, kind, actor, payload, {_created_at_sql()}, prev_hash, hash, mac "  # noqa: S608
        f"FROM audit_event WHERE seq > %s{bound} ORDER BY seq LIMIT %s"
    )
    last = after
    with connection.cursor() as cursor:
        while True:
            params = [last, upto, chunk_size] if upto is not None else [last, chunk_size]
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if rows:
                yield rows
            if len(rows) < chunk_size:
                return
            last = rows[-1][0]


def checkpoint_problem(checkpoint: Checkpoint, console_keys: dict[str, bytes]) -> str | None:
    """Why a checkpoint cannot be trusted, or None when a console key's signature verifies."""
    return checkpoint_statement_problem(
        console_keys,
        seq=checkpoint.seq,
        head=checkpoint.head,
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
    )


def signed_checkpoints(*, upto: int | None = None) -> dict[int, tuple[str, str | None]]:
    """seq → (head, problem) for every checkpoint, the rows and the head recorded outside the
    database (audit.log_head); problem is None when the signature verifies."""
    console_keys = console_verifier_keys()
    rows = Checkpoint.objects.all()
    if upto is not None:
        rows = rows.filter(seq__lte=upto)
    checkpoints = {cp.seq: (cp.head, checkpoint_problem(cp, console_keys)) for cp in rows}
    recorded = log_head_read()
    if recorded is not None and (upto is None or recorded["seq"] <= upto):
        problem = recorded.get("problem") and f"the recorded head file is {recorded['problem']}"
        problem = problem or checkpoint_statement_problem(
            console_keys,
            seq=recorded["seq"],
            head=recorded["head"],
            key_id=recorded["key_id"],
            signature=recorded["signature"],
        )
        seq = max(recorded["seq"], 1)
        known = checkpoints.get(seq)
        if problem or known is None or known[0] == recorded["head"]:
            checkpoints[seq] = (recorded["head"], problem)
        else:
            checkpoints[seq] = (recorded["head"], "the checkpoint row differs from the head file")
    return checkpoints


def first_mac_seq() -> int:
    """The first seq that must carry a MAC: the first event that has one (events before were
    written before MACs existed), or as the head file recorded it, whichever is earlier."""
    first = Event.objects.exclude(mac="").order_by("seq").values_list("seq", flat=True).first()
    recorded = log_head_read() or {}
    candidates = [seq for seq in (first, recorded.get("mac_from")) if isinstance(seq, int)]
    return min(candidates) if candidates else 2**62


def chain_checker(
    *, trusted_upto: int, checkpoints: dict[int, tuple[str, str | None]], macs_after: int
) -> ChainChecker:
    """A checker with everything the console knows: its MAC key, its keys, the checkpoints.

    MACs are checked after `macs_after`, the last verified checkpoint (see ChainChecker).
    """
    return ChainChecker(
        trusted_upto=trusted_upto,
        checkpoints=checkpoints,
        mac_key=event_mac_key(),
        mac_from=max(first_mac_seq(), macs_after + 1),
        console_keys=console_verifier_keys(),
    )


def trusted_seq(checkpoints: dict[int, tuple[str, str | None]]) -> int:
    """The last checkpoint seq that verifies with no untrustworthy checkpoint before it."""
    trusted = 0
    for seq in sorted(checkpoints):
        if checkpoints[seq][1] is not None:
            break
        trusted = seq
    return trusted


def _check(checker: ChainChecker, *, upto: int | None) -> None:
    for rows in event_rows(upto=upto):
        checker.feed(rows)
    checker.finish()


def _database_for_workers() -> dict[str, Any] | None:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"path": str(settings["NAME"])}
    if connection.vendor == "postgresql":
        keys = {
            "NAME": "dbname",
            "USER": "user",
            "PASSWORD": "password",
            "HOST": "host",
            "PORT": "port",
        }
        return {arg: settings[key] for key, arg in keys.items() if settings.get(key)}
    return None


def _parallel_ok(*, workers: int, last: int, template: ChainChecker) -> ChainVerification | None:
    """The verification when every range checks out in parallel, else None (caller rescans)."""
    database = _database_for_workers()
    if database is None:
        return None
    bounds = [last * k // workers for k in range(workers + 1)]
    tasks = [
        RangeTask(
            vendor=connection.vendor,
            database=database,
            created_at_sql=_created_at_sql(),
            after=bounds[k],
            upto=bounds[k + 1],
            trusted_upto=template.trusted_upto,
            checkpoints=template.checkpoints,
            mac_key=template.mac_key,
            mac_from=template.mac_from,
            console_keys=dict(template.console_keys or {}),
        )
        for k in range(workers)
    ]
    # fork, after closing this process's connections so no child inherits an open one (each
    # range opens its own); the parent checks the first range itself instead of waiting idle.
    connections.close_all()
    try:
        with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
            pending = pool.map_async(range_check, tasks[1:])
            results = [range_check(tasks[0]), *pending.get()]
    except (OSError, AssertionError, RuntimeError):
        return None  # e.g. inside a daemonic process: the sequential check still runs

    if any(result.problem for result in results):
        return None
    checker = ChainChecker(checkpoints=template.checkpoints)
    checker.last_seq = last
    try:
        checker.finish()
    except ChainBroken:
        return None
    count, head = sum(r.count for r in results), results[-1].head
    message = f"OK {count} events, head {head}"
    return ChainVerification(ok=True, count=count, head=head, message=message)


def verify_chain(
    *, upto: int | None = None, strict: bool = False, workers: int | None = 1
) -> ChainVerification:
    """Check every event (up to seq `upto`); on failure, name the first bad seq.

    strict: check every payload's canonical form, even where a checkpoint vouches for it.
    workers: processes checking ranges of a committed chain; None picks one per CPU from
    PARALLEL_MIN_EVENTS events on, outside a transaction (workers could not see into it).
    The default, 1, suits callers inside web or Celery worker processes, which should not
    start processes; verify_log and the bench ask for None.
    """
    checkpoints = signed_checkpoints(upto=upto)
    # Up to the last good checkpoint its signed head pins every byte, and the console checked
    # those payloads were canonical before signing it (audit.checkpoints); hashes and links are
    # still checked everywhere.
    trusted = 0 if strict else trusted_seq(checkpoints)
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(seq) FROM audit_event")
        last = min(cursor.fetchone()[0] or 0, upto if upto is not None else 2**62)
    if workers is None:
        parallel = last >= PARALLEL_MIN_EVENTS and not connection.in_atomic_block
        workers = min(os.cpu_count() or 1, 8) if parallel else 1
    checker = chain_checker(
        trusted_upto=trusted, checkpoints=checkpoints, macs_after=trusted_seq(checkpoints)
    )
    # Never inside a transaction: the workers could not see into it, and closing this
    # process's connection before forking them would abort it.
    if workers > 1 and last > workers and not connection.in_atomic_block:
        verified = _parallel_ok(workers=workers, last=last, template=checker)
        if verified is not None:
            return verified
    try:
        _check(checker, upto=upto)
    except ChainBroken as broken:
        if checker.trusted_upto:
            # Rescan strictly so the report names the first bad event, not the checkpoint
            # that exposed it.
            below = {seq: cp for seq, cp in checkpoints.items() if seq <= broken.seq}
            # No MACs: those were checked above, and below a checkpoint they may be under
            # a retired key.
            rescan = ChainChecker(checkpoints=below, console_keys=checker.console_keys)
            try:
                _check(rescan, upto=broken.seq)
            except ChainBroken as earlier:
                if earlier.seq <= broken.seq:
                    broken, checker = earlier, rescan
        return ChainVerification(
            ok=False, count=checker.count, head=checker.head, seq=broken.seq, message=str(broken)
        )
    message = f"OK {checker.count} events, head {checker.head}"
    return ChainVerification(ok=True, count=checker.count, head=checker.head, message=message)


def known_accounts() -> dict[str, Account]:
    """Every account by username: when it joined, and whether it is an admin now."""
    users = get_user_model().objects.values_list("username", "date_joined", "is_superuser")
    return {
        username: Account(joined_at=format_timestamp(joined), admin=admin)
        for username, joined, admin in users
    }


def verify_lifecycle(*, upto: int | None = None) -> ChainVerification:
    """Check the lifecycle rules (audit.lifecycle_rules) over every event, in seq order."""
    checker = LifecycleChecker(accounts=known_accounts())
    kinds = frozenset(LIFECYCLE_KINDS)
    count, head = 0, ""
    try:
        for rows in event_rows(upto=upto):
            for seq, kind, actor, payload, created_at, _prev, event_hash, _mac in rows:
                if kind in kinds:
                    checker.feed(seq, kind, actor, json.loads(payload), created_at)
                count, head = seq, event_hash
    except LifecycleBroken as broken:
        return ChainVerification(
            ok=False, count=count, head=head, seq=broken.seq, message=str(broken)
        )
    return ChainVerification(
        ok=True, count=count, head=head, message=f"OK {checker.applied} applied patches"
    )
