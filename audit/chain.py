"""The hash chain, pure: how an event's hash is computed, and a streaming check of a whole chain.

No Django here: the stand-alone verifier (audit.verifier) runs this same code on an exported
bundle that `verify_log` runs on the database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from patches.canonical import (
    MAX_SAFE_INTEGER,
    NON_BMP,
    PLAIN_JSON_ENCODER,
    ZERO_HASH,
    canonical,
    sha256_hash,
)

GENESIS_PREV_HASH = ZERO_HASH

# One event as the checker reads it: seq, kind, actor, payload (canonical JSON text),
# created_at (RFC 3339 text), prev_hash, hash.
EventRow = tuple[int, str, str, str, str, str, str]

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


class ChainBroken(Exception):
    """The first event at which the chain does not verify."""

    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"FAIL at seq {seq}: {problem}")
        self.seq = seq
        self.problem = problem


def event_hash(
    *, seq: int, kind: str, actor: str, payload: Any, created_at: str, prev_hash: str
) -> str:
    """The contract's definition, for reference and for parsed events (slow: full RFC 8785)."""
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


@lru_cache(maxsize=4096)  # kinds and actors repeat; the RFC 8785 library is pure Python
def _jcs_string(text: str) -> str:
    return canonical(text).decode("utf-8")


def event_bytes(
    *, seq: int, kind: str, actor: str, payload_text: str, created_at: str, prev_hash: str
) -> bytes:
    """canonical({...}) assembled from parts, for a payload already in canonical text.

    Keys in RFC 8785 order (actor, created_at, kind, payload, prev_hash, seq). Equal to
    canonical() of the parsed event exactly when payload_text is canonical, which callers
    ensure (payload_is_canonical) and created_at/prev_hash have their fixed formats.
    """
    before = event_text_before_prev_hash(
        kind=kind, actor=actor, payload_text=payload_text, created_at=created_at
    )
    return event_bytes_after(before, prev_hash=prev_hash, seq=seq)


# What follows prev_hash in event_bytes: the seq's key, then the seq and the closing brace.
PREV_HASH_TO_SEQ = '","seq":'


def event_bytes_after(before: str, *, prev_hash: str, seq: int) -> bytes:
    """event_bytes from its text before prev_hash (event_text_before_prev_hash), the head's
    hash and the seq: the last two are all a writer learns once it holds the chain lock."""
    return (before + prev_hash + PREV_HASH_TO_SEQ + str(seq) + "}").encode()


def event_text_before_prev_hash(
    *, kind: str, actor: str, payload_text: str, created_at: str
) -> str:
    """event_bytes' text up to prev_hash's value: what a writer knows before the head."""
    return (
        f'{{"actor":{_jcs_string(actor)},"created_at":"{created_at}","kind":{_jcs_string(kind)},'
        f'"payload":{payload_text},"prev_hash":"'
    )


class _NeedsFullCheck(Exception):
    pass


def _float_marker(text: str) -> Any:
    raise _NeedsFullCheck


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


# Built once: constructing a decoder or encoder per call costs more than the parse itself.
_DECODER = json.JSONDecoder(parse_float=_float_marker, parse_constant=_refuse_constant)
_STRICT_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
# A number of sixteen digits may be an int beyond 2^53 (RFC 8785 writes those as doubles).
# In compact JSON a number follows ":", "," or "["; inside a string this only costs a slow check.
_LONG_DIGITS = re.compile(r"[:,\[]-?\d{16}")


def payload_is_canonical(text: str) -> bool:
    """True when text is exactly RFC 8785 canonical JSON (of an object).

    The common case goes through the C json module: with no floats, no ints beyond 2^53 and no
    characters outside the BMP (where UTF-16 key order differs from code point order),
    json.dumps with sorted keys and no whitespace writes exactly what RFC 8785 writes. Anything
    else is checked with the full RFC 8785 implementation. Duplicate keys, NaN, whitespace and
    needless escapes all fail because re-serializing gives different text.
    """
    try:
        try:
            if _LONG_DIGITS.search(text) or (not text.isascii() and NON_BMP.search(text)):
                raise _NeedsFullCheck
            value = _DECODER.decode(text)
            if not isinstance(value, dict):
                return False
            again = PLAIN_JSON_ENCODER.encode(value)
        except _NeedsFullCheck:
            value = _STRICT_DECODER.decode(text)
            if not isinstance(value, dict) or any(
                isinstance(n, int) and not isinstance(n, bool) and abs(n) > MAX_SAFE_INTEGER
                for n in _numbers(value)
            ):
                return False
            again = canonical(value).decode("utf-8")
    except (ValueError, RecursionError):
        return False
    return again == text


def _numbers(value: Any) -> Iterable[Any]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int | float):
            yield item


class ChainChecker:
    """Checks a chain fed in seq order, in chunks; raises ChainBroken at the first bad event.

    `checkpoints`: seq → (head, problem): the head a signed checkpoint states there, or the
    reason it cannot be trusted (a bad signature), which fails the chain at that seq.
    `trusted_upto`: events at or before this seq skip the canonical-payload check because a
    verified checkpoint at that seq commits to their exact bytes, and checkpoints are only
    signed after that check passed (audit.checkpoints). Hashes and links are always checked.
    """

    def __init__(
        self,
        *,
        trusted_upto: int = 0,
        checkpoints: dict[int, tuple[str, str | None]] | None = None,
    ) -> None:
        self.trusted_upto = trusted_upto
        self.checkpoints = checkpoints or {}
        self.count = 0
        self.last_seq = 0
        self.head = GENESIS_PREV_HASH

    def feed(self, rows: Iterable[EventRow]) -> None:
        sha256 = hashlib.sha256
        jcs: dict[str, str] = {}  # kinds and actors repeat: encode each once
        timestamp_ok = _TIMESTAMP.fullmatch
        checkpoints, trusted_upto = self.checkpoints, self.trusted_upto
        expected, head = self.last_seq + 1, self.head
        try:
            for seq, kind, actor, payload, created_at, prev_hash, stored_hash in rows:
                if seq != expected:
                    raise ChainBroken(expected, _gap(expected, seq))
                if prev_hash != head:
                    raise ChainBroken(seq, "prev_hash does not link to the previous event's hash")
                # Below a valid checkpoint these two were checked strictly before it was
                # signed, and the signed head pins those bytes since (see audit.checkpoints).
                if seq > trusted_upto:
                    if timestamp_ok(created_at) is None:
                        raise ChainBroken(seq, f"created_at {created_at!r} is not RFC 3339 UTC")
                    if not payload_is_canonical(payload):
                        raise ChainBroken(seq, "payload is not canonical JSON (RFC 8785)")
                kind_text = jcs.get(kind) or jcs.setdefault(kind, _jcs_string(kind))
                actor_text = jcs.get(actor) or jcs.setdefault(actor, _jcs_string(actor))
                data = (
                    f'{{"actor":{actor_text},"created_at":"{created_at}","kind":{kind_text},'
                    f'"payload":{payload},"prev_hash":"{prev_hash}","seq":{seq}}}'
                ).encode()
                digest = "sha256:" + sha256(data).hexdigest()
                if digest != stored_hash:
                    raise ChainBroken(
                        seq, "hash mismatch: the stored hash does not match the event"
                    )
                if seq in checkpoints:
                    _check_checkpoint(seq, digest, checkpoints[seq])
                head = digest
                expected += 1
        finally:
            self.count += expected - 1 - self.last_seq
            self.last_seq, self.head = expected - 1, head

    def finish(self) -> None:
        """After the last chunk: a checkpoint beyond the end means events were cut off."""
        beyond = [seq for seq in self.checkpoints if seq > self.last_seq]
        if beyond:
            raise ChainBroken(
                self.last_seq + 1,
                f"missing events: a checkpoint is signed at seq {min(beyond)} but the log ends "
                f"at seq {self.last_seq}",
            )


def _check_checkpoint(seq: int, head: str, checkpoint: tuple[str, str | None]) -> None:
    signed_head, problem = checkpoint
    if problem:
        raise ChainBroken(seq, problem)
    if signed_head != head:
        raise ChainBroken(seq, "the chain's head here differs from the signed checkpoint")


def _gap(expected: int, found: int) -> str:
    if found < expected:
        return f"out of order: expected seq {expected}, found {found}"
    return f"gap: expected seq {expected}, found {found}"
