"""Event log speed: event_append against bulk inserts, verify_chain against raw SHA-256.

`python -m bench.chain_bench [--events N]` runs in its own throwaway database (SQLite, or
PostgreSQL when DATABASE_URL names a server); `run()` returns the figures for `make bench`.
Appends are timed on a slice (N/50, 2,000..20,000 events); the rest of the N events are
filled with precomputed chained rows by the ORM's bulk_create so verification covers all N.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import django_ready, throwaway_database

DEFAULT_EVENTS = 1_000_000  # the size the goal is stated for
CHUNK = 10_000
KINDS = ("PatchProposed", "TestGatePassed", "ReviewRecorded", "PatchApplied", "PatchRejected")
REASONING = "Route chargebacks to billing; customers mention them with invoices and refunds."
START = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)

RATIOS = {
    "verify_vs_sha256_ratio": ("verify_s", "sha256_baseline_s", ">=", 0.25),
}
APPEND_GOAL_PER_S = 1_000  # chain appends, each its own transaction


def _payload(seq: int) -> dict[str, Any]:
    digest = hashlib.sha256(seq.to_bytes(8, "big")).hexdigest()
    payload: dict[str, Any] = {"patch_hash": "sha256:" + digest, "target": f"target-{seq % 37}"}
    if seq % 5 == 3:
        payload.update(
            patch_type="Routing",
            reasoning=REASONING,
            version=seq // 5,
            content_hash="sha256:" + digest[::-1],
            base_version=seq // 5 - 1,
            proposal=seq // 5,
        )
    elif seq % 5 == 4:
        payload.update(reason="Test failed: routing-cases", stage="test_gate", proposal=seq // 5)
    return payload


def chained_rows(start_seq: int, prev_hash: str, count: int) -> Iterator[list[Any]]:
    """Chunks of Events continuing the chain, hashed and MACed exactly as event_append does."""
    from patches.canonical import format_timestamp, sha256_hash
    from patches.chain import event_hash_input, event_mac
    from patches.models import Event
    from patches.signing import event_mac_key

    mac_key = event_mac_key()

    seq = start_seq
    end = start_seq + count
    while seq < end:
        chunk = []
        for seq in range(seq, min(seq + CHUNK, end)):  # noqa: B020
            moment = START + timedelta(milliseconds=seq)
            created_at = format_timestamp(moment)
            # Only ASCII strings and small ints: json.dumps writes exactly RFC 8785 here.
            payload = json.dumps(_payload(seq), separators=(",", ":"), sort_keys=True)
            kind, actor = KINDS[seq % 5], f"agent:bench-{seq % 11}"
            event_hash = sha256_hash(
                event_hash_input(seq, kind, actor, payload, created_at, prev_hash)
            )
            chunk.append(
                Event(
                    seq=seq,
                    kind=kind,
                    actor=actor,
                    payload=payload,
                    created_at=moment,
                    prev_hash=prev_hash,
                    hash=event_hash,
                    mac=event_mac(mac_key, event_hash),
                )
            )
            prev_hash = event_hash
        seq += 1
        yield chunk


def _insert(chunk: list[Any]) -> None:
    from django.db import transaction

    from patches.models import Event

    with transaction.atomic():
        Event.objects.bulk_create(chunk)


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _sha256_baseline() -> tuple[float, float, int]:
    """(seconds hashing, seconds reading, bytes) for the exact bytes verify_chain hashes."""
    from audit.verify import event_rows
    from patches.chain import event_hash_input

    sha256 = hashlib.sha256
    hashing = reading = 0.0
    total = 0
    rows_iter = event_rows()
    while True:
        started = time.perf_counter()
        rows = next(rows_iter, None)
        reading += time.perf_counter() - started
        if rows is None:
            break
        blobs = [event_hash_input(*r[:6]) for r in rows]
        total += sum(map(len, blobs))
        started = time.perf_counter()
        for blob in blobs:
            sha256(blob).digest()
        hashing += time.perf_counter() - started
    return hashing, reading, total


def run(events: int = DEFAULT_EVENTS) -> dict[str, Any]:
    from django.db import connection, transaction

    from audit.checkpoints import checkpoint_sign
    from audit.verify import verify_chain
    from patches.log import chain_head, event_append

    vendor = connection.vendor
    appends = max(2_000, min(20_000, events // 50))

    def append_each() -> None:
        for n in range(appends):
            event_append(kind="PatchProposed", actor="agent:bench", payload=_payload(n))

    def append_batched() -> None:
        with transaction.atomic():
            append_each()

    append_s = _timed(append_each)
    append_batched_s = _timed(append_batched)
    seq, head = chain_head()
    raw_rows = [row for chunk in chained_rows(seq + 1, head, appends) for row in chunk]
    bulk_insert_s = _timed(lambda: _insert(raw_rows))

    seq, head = chain_head()
    remaining = max(0, events - seq)
    fill_started = time.perf_counter()
    for chunk in chained_rows(seq + 1, head, remaining):
        _insert(chunk)
    fill_s = time.perf_counter() - fill_started
    if vendor == "postgresql":
        # What autovacuum does to a live table: sets hint bits and the visibility map, which the
        # first scan after a bulk load would otherwise do (and pay for) inside the timed runs.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) audit_event")

    # A checkpoint covers the whole chain (strictly checked once, MACs included, before
    # signing)...
    checkpoint_s = _timed(checkpoint_sign)
    # ...so verify_log rechecks hashes and links everywhere, payload canonicality only after it.
    results: dict[str, Any] = {}
    # workers=None is what `verify_log` runs: one process per CPU from PARALLEL_MIN_EVENTS on.
    verify_s = _timed(lambda: results.setdefault("fast", verify_chain(workers=None)))
    single_s = _timed(lambda: results.setdefault("single", verify_chain(workers=1)))
    strict_s = _timed(lambda: results.setdefault("strict", verify_chain(strict=True, workers=1)))
    for result in results.values():
        if not result.ok:
            raise RuntimeError(f"the bench chain does not verify: {result.message}")
    sha256_s, read_s, total_bytes = _sha256_baseline()
    verified = results["fast"].count
    return {
        "events": verified,
        "bytes_per_event": round(total_bytes / verified, 1),
        "appends_timed": appends,
        "append_per_s": round(appends / append_s),
        "append_batched_per_s": round(appends / append_batched_s),
        "bulk_insert_per_s": round(appends / bulk_insert_s),
        "append_vs_bulk_insert_ratio": {
            "measured": append_s,
            "baseline": bulk_insert_s,
            "ratio": bulk_insert_s / append_s,
            "comparison": ">=",
            "goal": None,
        },
        "append_batched_vs_bulk_insert_ratio": {
            "measured": append_batched_s,
            "baseline": bulk_insert_s,
            "ratio": bulk_insert_s / append_batched_s,
            "comparison": ">=",
            "goal": None,
        },
        "fill_s": fill_s,
        "checkpoint_sign_s": checkpoint_s,
        "verify_s": verify_s,
        "verify_per_s": round(verified / verify_s),
        "verify_strict_s": strict_s,
        "verify_strict_per_s": round(verified / strict_s),
        "sha256_baseline_s": sha256_s,
        "sha256_per_s": round(verified / sha256_s),
        "read_rows_s": read_s,
        "verify_vs_sha256_ratio": sha256_s / verify_s,
        "verify_single_process_s": single_s,
        "verify_single_process_vs_sha256_ratio": {
            "measured": single_s,
            "baseline": sha256_s,
            "ratio": sha256_s / single_s,
            "comparison": ">=",
            "goal": None,
        },
        "verify_strict_vs_sha256_ratio": {
            "measured": strict_s,
            "baseline": sha256_s,
            "ratio": sha256_s / strict_s,
            "comparison": ">=",
            "goal": None,
        },
    }


def _show(figures: dict[str, Any]) -> None:
    for name, value in figures.items():
        if isinstance(value, dict):
            print(
                f"{name:40} {value['ratio']:.3f}  ({value['measured']:.3f} s vs {value['baseline']:.3f} s)"
            )
        elif isinstance(value, float):
            print(f"{name:40} {value:.3f}")
        else:
            print(f"{name:40} {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chain_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events to verify")
    options = parser.parse_args(argv)
    with throwaway_database("console_chain_bench") as database_url:
        django_ready(database_url)
        from django.db import connection

        print(f"chain bench: {options.events} events on {connection.vendor}")
        figures = run(options.events)
        connection.close()
    _show(figures)
    ratio = figures["verify_vs_sha256_ratio"]
    print(f"verify at {ratio:.1%} of the raw SHA-256 rate (goal: at least 25%)")
    rate = figures["append_per_s"]
    print(f"{rate} chain appends/s, each its own transaction (goal: at least {APPEND_GOAL_PER_S})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
