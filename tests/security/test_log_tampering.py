"""1,000 random tamperings of the event log, each caught by the verifier at the right seq."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from audit.verify import event_rows, verify_chain
from patches.canonical import canonical_text, format_timestamp
from patches.chain import (
    GENESIS_PREV_HASH,
    ChainBroken,
    ChainChecker,
    EventRow,
    event_hash_input,
)
from patches.log import event_append
from patches.models import Event
from tests.audit.conftest import drop_event_triggers, run_command

CASES = 1_000
CHAIN_LENGTH = 40
SEED = 20261125
KINDS = ["PatchProposed", "TestGatePassed", "ReviewRecorded", "PatchApplied", "PatchRejected"]


def _hash(seq: int, kind: str, actor: str, payload: str, created_at: str, prev_hash: str) -> str:
    data = event_hash_input(
        seq=seq,
        kind=kind,
        actor=actor,
        payload_text=payload,
        created_at=created_at,
        prev_hash=prev_hash,
    )
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _link(
    seq: int, kind: str, actor: str, payload: str, created_at: str, prev_hash: str
) -> EventRow:
    return (
        seq,
        kind,
        actor,
        payload,
        created_at,
        prev_hash,
        _hash(seq, kind, actor, payload, created_at, prev_hash),
        "",  # no MAC: these chains are checked without the console's key
    )


def build_chain(rng: random.Random, length: int) -> list[EventRow]:
    """A valid chain with varied payloads (unicode, numbers, nesting), built without a database."""
    rows: list[EventRow] = []
    prev, moment = GENESIS_PREV_HASH, datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    for seq in range(1, length + 1):
        moment += timedelta(microseconds=rng.randrange(1, 5_000_000))
        payload = canonical_text(
            {
                "patch_hash": "sha256:" + hashlib.sha256(str(seq).encode()).hexdigest(),
                "reason": rng.choice(
                    ["ok", "Test failed: max-length", "naïve ünïcode ✓", 'quote " \\ done']
                ),
                "version": rng.randrange(1, 1000),
                "nested": {
                    "list": [rng.randrange(100) for _ in range(rng.randrange(4))],
                    "flag": rng.random() < 0.5,
                },
            }
        )
        row = _link(
            seq,
            rng.choice(KINDS),
            f"agent:a{rng.randrange(5)}",
            payload,
            format_timestamp(moment),
            prev,
        )
        rows.append(row)
        prev = row[6]
    return rows


def verify_rows(rows: list[EventRow], checkpoint: tuple[int, str]) -> int | None:
    """The first bad seq, or None; the console's signed checkpoint pins the original head."""
    checker = ChainChecker(checkpoints={checkpoint[0]: (checkpoint[1], None)})
    try:
        checker.feed(rows)
        checker.finish()
    except ChainBroken as broken:
        return broken.seq
    return None


def _replace(row: EventRow, index: int, value: object) -> EventRow:
    parts = list(row)
    parts[index] = value
    return tuple(parts)  # type: ignore[return-value]


# Each tampering returns (new rows, the seq the verifier must name).
Tamper = Callable[[random.Random, list[EventRow]], tuple[list[EventRow], int]]


def _payload_byte(rng: random.Random, rows: list[EventRow]) -> tuple[list[EventRow], int]:
    i = rng.randrange(len(rows))
    text = rows[i][3]
    while True:
        at = rng.randrange(len(text))
        changed = text[:at] + chr(rng.choice([*range(32, 127), 0xE9, 0x2713])) + text[at + 1 :]
        if changed != text:
            break
    return [*rows[:i], _replace(rows[i], 3, changed), *rows[i + 1 :]], rows[i][0]


def _field(index: int, values: Callable[[random.Random, EventRow], object]) -> Tamper:
    def tamper(rng: random.Random, rows: list[EventRow]) -> tuple[list[EventRow], int]:
        i = rng.randrange(len(rows))
        while (value := values(rng, rows[i])) == rows[i][index]:
            pass
        return [*rows[:i], _replace(rows[i], index, value), *rows[i + 1 :]], rows[i][0]

    return tamper


def _other_time(rng: random.Random, row: EventRow) -> str:
    moment = datetime.strptime(row[4], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    shifted = moment + timedelta(microseconds=rng.choice([-1, 1, 1000, -3_600_000_000]))
    return rng.choice([format_timestamp(shifted), format_timestamp(shifted).replace("Z", "+00:00")])


def _random_hash(rng: random.Random, row: EventRow) -> str:
    return "sha256:" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def _delete(rng: random.Random, rows: list[EventRow]) -> tuple[list[EventRow], int]:
    i = rng.randrange(len(rows))
    # Deleting the last event is caught by the checkpoint at the old head: the log ends early.
    return rows[:i] + rows[i + 1 :], rows[i][0]


def _swap(rng: random.Random, rows: list[EventRow]) -> tuple[list[EventRow], int]:
    i, j = sorted(rng.sample(range(len(rows)), 2))
    swapped = list(rows)
    swapped[i], swapped[j] = rows[j], rows[i]
    return swapped, rows[i][0]


def _insert_forged(rng: random.Random, rows: list[EventRow]) -> tuple[list[EventRow], int]:
    """A well-formed forged event linked to its predecessor, slipped in before event i.

    Either left as is (the displaced event i then fails at seq+1), or with every later event
    renumbered and re-hashed by a forger who can write the table (only the signed checkpoint,
    at the old head's seq, gives that away).
    """
    i = rng.randrange(len(rows))
    seq = rows[i][0]
    prev = rows[i - 1][6] if i else GENESIS_PREV_HASH
    forged = _link(seq, "PatchApplied", "user:mallory", '{"forged":true}', rows[i][4], prev)
    if rng.random() < 0.5:
        # The last event's seq carries the checkpoint, which the forgery fails there already.
        return [*rows[:i], forged, *rows[i:]], min(seq + 1, rows[-1][0])
    rewritten, prev = [*rows[:i], forged], forged[6]
    for row in rows[i:]:
        link = _link(row[0] + 1, row[1], row[2], row[3], row[4], prev)
        rewritten.append(link)
        prev = link[6]
    return rewritten, rows[-1][0]


TAMPERINGS: dict[str, Tamper] = {
    "payload byte": _payload_byte,
    "kind": _field(1, lambda rng, row: rng.choice([*KINDS, "PatchWithdrawn", row[1] + " "])),
    "actor": _field(
        2, lambda rng, row: rng.choice(["user:mallory", "system:console", row[2].upper()])
    ),
    "created_at": _field(4, _other_time),
    "prev_hash": _field(5, _random_hash),
    "hash": _field(6, _random_hash),
    "delete": _delete,
    "swap two": _swap,
    "insert forged": _insert_forged,
}


def test_every_one_of_a_thousand_random_tamperings_is_caught_at_its_seq():
    rng = random.Random(SEED)
    original = build_chain(rng, CHAIN_LENGTH)
    checkpoint = (original[-1][0], original[-1][6])
    assert verify_rows(original, checkpoint) is None
    seen: Counter[str] = Counter()
    for case in range(CASES):
        name = rng.choice(sorted(TAMPERINGS))
        rows, expected = TAMPERINGS[name](rng, list(original))
        found = verify_rows(rows, checkpoint)
        assert found == expected, (
            f"case {case} ({name}): expected seq {expected}, verifier said {found}"
        )
        seen[name] += 1
    assert set(seen) == set(TAMPERINGS)


def test_without_a_checkpoint_a_cut_tail_goes_unnoticed():
    """Without the signed checkpoint, only removing events from the end goes unnoticed: which is
    why checkpoints exist (see SECURITY.md, 'indefinite freeze / truncation')."""
    rng = random.Random(SEED + 1)
    original = build_chain(rng, 12)
    checker = ChainChecker()
    checker.feed(original[:-3])
    checker.finish()
    assert checker.last_seq == 9


DB_CASES = 8


def _db_rows() -> list[EventRow]:
    return [row for chunk in event_rows() for row in chunk]


def _write(rows: list[EventRow]) -> None:
    """Replace the table's content with rows (the triggers are dropped for this test only)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_event")
    Event.objects.bulk_create(
        Event(
            seq=seq,
            kind=kind,
            actor=actor,
            payload=payload,
            created_at=datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
            prev_hash=prev,
            hash=stored,
            mac=mac,
        )
        for seq, kind, actor, payload, created_at, prev, stored, mac in rows
    )


@pytest.mark.django_db
def test_random_tamperings_written_to_the_database_fail_verify_log_at_their_seq():
    for n in range(12):
        event_append(kind="Thing", actor="user:test", payload={"n": n, "text": f"événement {n}"})
    original = _db_rows()
    assert verify_chain().ok
    drop_event_triggers()
    rng = random.Random(SEED + 2)
    # Database-representable tamperings (timestamps are stored as datetimes, so a
    # "+00:00" spelling cannot be written; duplicate seqs cannot be stored either).
    names = ["payload byte", "kind", "actor", "prev_hash", "hash", "delete", "swap two"]
    for case in range(DB_CASES):
        name = names[case % len(names)]
        rows, expected = TAMPERINGS[name](rng, list(original))
        if name == "swap two":
            # Stored rows are read back in seq order, so swap their contents but keep the seqs.
            i, j = sorted(rng.sample(range(len(original)), 2))
            rows = list(original)
            rows[i] = (original[i][0], *original[j][1:])  # type: ignore[assignment]
            rows[j] = (original[j][0], *original[i][1:])  # type: ignore[assignment]
            expected = original[i][0]
        _write(rows)
        code, _, err = run_command("verify_log")
        assert code == 1, f"{name}: verify_log passed a tampered log"
        assert err.strip().startswith(f"FAIL at seq {expected}:"), f"{name}: {err}"
    _write(original)
    assert run_command("verify_log")[0] == 0
