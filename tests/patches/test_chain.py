"""The pure hash chain: the contract's hash, the fast byte assembly, and the streaming checker."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from audit.verifier import event_hash
from patches.canonical import canonical, canonical_text, format_timestamp, is_canonical
from patches.chain import (
    GENESIS_PREV_HASH,
    ChainBroken,
    ChainChecker,
    event_hash_input,
    event_mac,
)
from patches.signing import key_id_of, raw_public_key, sign


def _chain(payloads: list[dict]) -> list[tuple]:
    rows, prev = [], GENESIS_PREV_HASH
    for seq, payload in enumerate(payloads, start=1):
        created = f"2026-11-25T20:31:{seq % 60:02d}.123456Z"
        digest = event_hash(
            seq=seq,
            kind="Thing",
            actor='user:ünï "q"',
            payload=payload,
            created_at=created,
            prev_hash=prev,
        )
        row = (seq, "Thing", 'user:ünï "q"', canonical_text(payload), created, prev, digest, "")
        rows.append(row)
        prev = digest
    return rows


def test_timestamps_are_rfc3339_utc_with_microseconds() -> None:
    moment = datetime(2026, 11, 25, 20, 31, 10, 0, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-11-25T20:31:10.000000Z"


def test_the_fast_bytes_are_the_canonical_bytes_of_the_event() -> None:
    payload = {"b": [1, 2.5, "x\u2028y"], "a": {"é": None, "\U0001f600": True}, "n": -0.0}
    fields = {
        "seq": 7,
        "kind": "PatchApplied",
        "actor": 'agent:"quoted"\n',
        "payload": payload,
        "created_at": "2026-11-25T20:31:10.123456Z",
        "prev_hash": GENESIS_PREV_HASH,
    }
    fast = event_hash_input(
        seq=7,
        kind=fields["kind"],
        actor=fields["actor"],
        payload_text=canonical_text(payload),
        created_at=fields["created_at"],
        prev_hash=GENESIS_PREV_HASH,
    )
    assert fast == canonical(fields)
    assert event_hash(**fields) == "sha256:" + hashlib.sha256(fast).hexdigest()


@pytest.mark.parametrize(
    "payload",
    [
        {"a": 1, "b": [True, None, "x"]},
        {"float": 1.5, "big": 1e21, "small": 1e-7},
        {"\U0001f600": 1, "\ufb33": 2, "ascii": "é\u2028"},
        {"ctl": '\u0001\u001f\t"\\'},
        {},
    ],
)
def test_canonical_payloads_are_recognized(payload: dict) -> None:
    assert is_canonical(canonical_text(payload))


@pytest.mark.parametrize(
    "text",
    [
        '{"b":1,"a":2}',  # unsorted keys
        '{"a": 1}',  # whitespace
        '{"a":1,"a":2}',  # duplicate key
        '{"a":NaN}',
        '{"a":1.50}',
        '{"a":1E3}',
        '{"a":"\\u0041"}',  # needless escape
        '{"a":9007199254740993}',  # beyond 2^53
        '{"\ufb33":1,"\U0001f600":2}',  # code point order, not UTF-16 order
        "[1,2]",
        "not json",
    ],
)
def test_non_canonical_payloads_are_refused(text: str) -> None:
    assert not is_canonical(text)


def test_a_good_chain_verifies_in_chunks() -> None:
    rows = _chain([{"n": n} for n in range(10)])
    checker = ChainChecker()
    checker.feed(rows[:4])
    checker.feed(rows[4:])
    checker.finish()
    assert (checker.count, checker.head) == (10, rows[-1][6])


@pytest.mark.parametrize(
    ("tamper", "seq", "problem"),
    [
        (
            lambda rows: [*rows[:3], (*rows[3][:3], '{"n":99}', *rows[3][4:]), *rows[4:]],
            4,
            "hash mismatch",
        ),
        (lambda rows: rows[:3] + rows[4:], 4, "gap: expected seq 4, found 5"),
        (lambda rows: [*rows[:3], rows[4], rows[3], *rows[5:]], 4, "expected seq 4, found 5"),
        (
            lambda rows: [*rows[:3], (*rows[3][:3], '{"n": 3}', *rows[3][4:]), *rows[4:]],
            4,
            "not canonical",
        ),
        (
            lambda rows: (
                [*rows[:5], (*rows[5][:4], "2026-11-25 20:31:10", *rows[5][5:]), *rows[6:]]
            ),
            6,
            "RFC 3339",
        ),
    ],
)
def test_tampering_fails_at_the_first_bad_seq(tamper, seq: int, problem: str) -> None:  # type: ignore[no-untyped-def]
    rows = tamper(_chain([{"n": n} for n in range(10)]))
    with pytest.raises(ChainBroken) as broken:
        ChainChecker().feed(rows)
    assert broken.value.seq == seq
    assert problem in broken.value.problem


def test_a_checkpoint_head_must_match_and_events_after_it_must_exist() -> None:
    rows = _chain([{"n": n} for n in range(5)])
    ChainChecker(checkpoints={3: (rows[2][6], None)}).feed(rows)
    with pytest.raises(ChainBroken, match="differs from the signed checkpoint") as broken:
        ChainChecker(checkpoints={3: (rows[1][6], None)}).feed(rows)
    assert broken.value.seq == 3
    checker = ChainChecker(checkpoints={7: ("sha256:" + "1" * 64, None)})
    checker.feed(rows)
    with pytest.raises(ChainBroken, match="missing events"):
        checker.finish()


def test_below_a_trusted_checkpoint_only_hashes_are_checked() -> None:
    # A non-canonical payload hashed as stored passes only where a checkpoint vouches for it.
    rows = _chain([{"n": n} for n in range(3)])
    odd = '{"n": 0}'
    data = event_hash_input(
        seq=1,
        kind="Thing",
        actor=rows[0][2],
        payload_text=odd,
        created_at=rows[0][4],
        prev_hash=GENESIS_PREV_HASH,
    )
    first = (
        1,
        "Thing",
        rows[0][2],
        odd,
        rows[0][4],
        GENESIS_PREV_HASH,
        "sha256:" + hashlib.sha256(data).hexdigest(),
        "",
    )
    ChainChecker(trusted_upto=1).feed([first])
    with pytest.raises(ChainBroken, match="not canonical"):
        ChainChecker().feed([first])


MAC_KEY = b"k" * 32


def _with_macs(rows: list[tuple], key: bytes = MAC_KEY) -> list[tuple]:
    return [(*row[:7], event_mac(key, row[6])) for row in rows]


def test_every_event_from_mac_from_on_needs_the_consoles_mac() -> None:
    rows = _with_macs(_chain([{"n": n} for n in range(6)]))
    ChainChecker(mac_key=MAC_KEY).feed(rows)
    # A forger with the database but not the key: right hashes, a MAC under another key.
    forged = [*rows[:3], *_with_macs(rows[3:4], b"x" * 32), *rows[4:]]
    with pytest.raises(ChainBroken, match="MAC mismatch") as broken:
        ChainChecker(mac_key=MAC_KEY).feed(forged)
    assert broken.value.seq == 4
    # Or no MAC at all, hoping to pass as an event from before MACs existed.
    blank = [*rows[:3], (*rows[3][:7], ""), *rows[4:]]
    with pytest.raises(ChainBroken, match="MAC mismatch"):
        ChainChecker(mac_key=MAC_KEY).feed(blank)


def test_events_before_mac_from_are_not_asked_for_a_mac() -> None:
    legacy = _chain([{"n": n} for n in range(6)])
    rows = [*legacy[:3], *_with_macs(legacy[3:])]
    ChainChecker(mac_key=MAC_KEY, mac_from=4).feed(rows)
    with pytest.raises(ChainBroken, match="MAC mismatch") as broken:
        ChainChecker(mac_key=MAC_KEY, mac_from=3).feed(rows)
    assert broken.value.seq == 3


def _signed_event(rows: list[tuple], private_key, *, seq: int | None = None) -> tuple:
    """A CheckpointSigned event appended after rows, signing their head."""
    last_seq, head = rows[-1][0], rows[-1][6]
    signed_seq = last_seq if seq is None else seq
    statement = {"seq": signed_seq, "head": head}
    payload = {
        "seq": signed_seq,
        "head": head,
        "key_id": key_id_of(raw_public_key(private_key.public_key())),
        "signature": sign(private_key, statement),
    }
    created = "2026-11-25T20:32:00.000000Z"
    digest = event_hash(
        seq=last_seq + 1,
        kind="CheckpointSigned",
        actor="system:console",
        payload=payload,
        created_at=created,
        prev_hash=head,
    )
    return (
        last_seq + 1,
        "CheckpointSigned",
        "system:console",
        canonical_text(payload),
        created,
        head,
        digest,
        "",
    )


def test_checkpoint_signed_events_are_checked_as_checkpoints() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    console, attacker = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = {key_id_of(raw_public_key(console.public_key())): raw_public_key(console.public_key())}
    rows = _chain([{"n": n} for n in range(4)])
    ChainChecker(console_keys=keys).feed([*rows, _signed_event(rows, console)])
    with pytest.raises(ChainBroken, match="not a console key") as broken:
        ChainChecker(console_keys=keys).feed([*rows, _signed_event(rows, attacker)])
    assert broken.value.seq == 5
    with pytest.raises(ChainBroken, match="does not sign the event before it"):
        ChainChecker(console_keys=keys).feed([*rows, _signed_event(rows, console, seq=2)])
