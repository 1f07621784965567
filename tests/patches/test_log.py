"""event_append: seq and prev_hash chaining, canonical payload text, hashes per the contract."""

from __future__ import annotations

from audit.verifier import event_hash
from patches.canonical import canonical_text, format_timestamp
from patches.chain import GENESIS_PREV_HASH
from patches.log import event_append
from patches.models import Event


def test_the_first_event_links_to_the_zero_hash_and_the_next_to_it(db: None) -> None:
    first = event_append(kind="Thing", actor="user:test", payload={"b": 1.0, "a": "é"})
    second = event_append(kind="Other", actor="system:console", payload={})
    assert (first.seq, first.prev_hash) == (1, GENESIS_PREV_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)


def test_the_payload_is_stored_as_canonical_text_and_hashed_per_the_contract(db: None) -> None:
    event_append(kind="Thing", actor='agent:"x"', payload={"z": [1, 2.5], "a": {"y": None}})
    stored = Event.objects.get(seq=1)
    assert stored.payload == canonical_text({"a": {"y": None}, "z": [1, 2.5]})
    assert stored.hash == event_hash(
        seq=1,
        kind="Thing",
        actor='agent:"x"',
        payload=stored.payload_value,
        created_at=format_timestamp(stored.created_at),
        prev_hash=GENESIS_PREV_HASH,
    )
