"""The event log's hash chain, pure: the bytes an event's hash covers, and a streaming check.

No Django here, so it can be tested and benchmarked alone. The writer (patches.log) and
`verify_log` (audit.verify) use event_hash_input(); the stand-alone verifier (audit.verifier)
computes the same bytes independently, with the `rfc8785` package, from the parsed event.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache

from patches.canonical import ZERO_HASH, canonical, is_canonical

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


@lru_cache(maxsize=4096)  # kinds and actors repeat; canonicalizing a string is not free
def _jcs_string(text: str) -> str:
    return canonical(text).decode("utf-8")


def event_hash_input(
    seq: int, kind: str, actor: str, payload_text: str, created_at: str, prev_hash: str
) -> bytes:
    """canonical({"seq", "kind", "actor", "payload", "created_at", "prev_hash"}): what `hash`
    covers (DESIGN.md, Events). The one place these bytes are laid out.

    `payload_text` is the payload already in canonical text (what the log stores); created_at is
    RFC 3339 UTC with microseconds and prev_hash a `sha256:` hash, neither of which needs JSON
    escaping. The keys stand in RFC 8785 order: actor, created_at, kind, payload, prev_hash, seq.
    """
    return (
        f'{{"actor":{_jcs_string(actor)},"created_at":"{created_at}","kind":{_jcs_string(kind)},'
        f'"payload":{payload_text},"prev_hash":"{prev_hash}","seq":{seq}}}'
    ).encode()


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
        hash_input = event_hash_input
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
                    if not is_canonical(payload):
                        raise ChainBroken(seq, "payload is not canonical JSON (RFC 8785)")
                digest = (
                    "sha256:"
                    + sha256(
                        hash_input(seq, kind, actor, payload, created_at, prev_hash)
                    ).hexdigest()
                )
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
