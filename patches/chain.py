"""The event log's hash chain, pure: the bytes an event's hash covers, and a streaming check.

No Django here, so it can be tested and benchmarked alone. The writer (patches.log) and
`verify_log` (audit.verify) use event_hash_input(); the stand-alone verifier (audit.verifier)
computes the same bytes independently, with the `rfc8785` package, from the parsed event.

Each event also carries a MAC (event_mac): an HMAC of its hash under a key derived from the
console's private key, which the database does not hold. Anyone who can write the database can
compute correct hashes, but not MACs, so the checker refuses an event the console did not write.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from patches.canonical import ZERO_HASH, canonical, is_canonical, is_hash
from patches.signing import SignatureError, verify

GENESIS_PREV_HASH = ZERO_HASH
CHECKPOINT_SIGNED = "CheckpointSigned"

# One event as the checker reads it: seq, kind, actor, payload (canonical JSON text),
# created_at (RFC 3339 text), prev_hash, hash, mac ("" for events written before MACs).
EventRow = tuple[int, str, str, str, str, str, str, str]

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


def event_mac(mac_key: bytes, event_hash: str) -> str:
    """Hex HMAC-SHA256 of an event's hash: the hash covers every field, so this covers them too."""
    return hmac.digest(mac_key, event_hash.encode("ascii"), "sha256").hex()


def checkpoint_statement_problem(
    keys: Mapping[str, bytes], *, seq: int, head: str, key_id: str, signature: str
) -> str | None:
    """Why a signed checkpoint (seq, head) cannot be trusted, or None when a known console key
    (current or retired) signed it."""
    public_key = keys.get(key_id)
    if public_key is None:
        return f"checkpoint signed by key {key_id}, which is not a console key"
    if not is_hash(head):
        return "checkpoint head is not a sha256: hash"
    try:
        verify(public_key, {"seq": seq, "head": head}, signature)
    except SignatureError as exc:
        return f"checkpoint signature: {exc}"
    return None


class ChainChecker:
    """Checks a chain fed in seq order, in chunks; raises ChainBroken at the first bad event.

    `checkpoints`: seq → (head, problem): the head a signed checkpoint states there, or the
    reason it cannot be trusted (a bad signature), which fails the chain at that seq.
    `trusted_upto`: events at or before this seq skip the canonical-payload check because a
    verified checkpoint at that seq commits to their exact bytes, and checkpoints are only
    signed after that check passed (audit.checkpoints). Hashes and links are always checked.
    `mac_key`: when given, every event from seq `mac_from` on must carry its MAC. Callers start
    after the last verified checkpoint (the console checked the MACs below it before signing,
    and they may be under a retired key) and never before the first event that has a MAC
    (earlier ones were written before MACs existed). A CheckpointSigned event at `mac_from`
    itself is checked by its signature instead: it follows the last verified checkpoint, which
    it records, and may be under the key that checkpoint was signed with (console key
    rotation signs a checkpoint, then changes keys).
    `console_keys`: key id → public key; when given, every CheckpointSigned event in the chain
    is checked as a checkpoint (it follows the event it signs, and must sign that head).
    """

    def __init__(
        self,
        *,
        trusted_upto: int = 0,
        checkpoints: dict[int, tuple[str, str | None]] | None = None,
        mac_key: bytes | None = None,
        mac_from: int = 1,
        console_keys: Mapping[str, bytes] | None = None,
    ) -> None:
        self.trusted_upto = trusted_upto
        self.checkpoints = checkpoints or {}
        self.mac_key = mac_key
        self.mac_from = mac_from
        self.console_keys = console_keys
        self.count = 0
        self.last_seq = 0
        self.head = GENESIS_PREV_HASH

    def feed(self, rows: Iterable[EventRow]) -> None:
        sha256 = hashlib.sha256
        hash_input = event_hash_input
        timestamp_ok = _TIMESTAMP.fullmatch
        checkpoints, trusted_upto = self.checkpoints, self.trusted_upto
        mac_key, mac_from, console_keys = self.mac_key, self.mac_from, self.console_keys
        expected, head = self.last_seq + 1, self.head
        try:
            for seq, kind, actor, payload, created_at, prev_hash, stored_hash, mac in rows:
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
                if (
                    mac_key is not None
                    and seq >= mac_from
                    and not (seq == mac_from and kind == CHECKPOINT_SIGNED and console_keys)
                    and not hmac.compare_digest(mac, event_mac(mac_key, digest))
                ):
                    raise ChainBroken(
                        seq, "MAC mismatch: this event was not written by the console"
                    )
                if seq in checkpoints:
                    _check_checkpoint(seq, digest, checkpoints[seq])
                if console_keys is not None and kind == CHECKPOINT_SIGNED:
                    _check_signed_event(seq, prev_hash, payload, console_keys)
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


def _check_signed_event(
    seq: int, prev_hash: str, payload: str, console_keys: Mapping[str, bytes]
) -> None:
    """A CheckpointSigned event is appended under the lock that read the head it signs, so it
    names the event just before it; its signature must verify like any checkpoint's."""
    try:
        statement = json.loads(payload)
        signed_seq, head = statement["seq"], statement["head"]
        key_id, signature = statement["key_id"], statement["signature"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ChainBroken(seq, f"CheckpointSigned payload is unreadable: {exc}") from exc
    if signed_seq != seq - 1 or head != prev_hash:
        raise ChainBroken(seq, "CheckpointSigned does not sign the event before it")
    problem = checkpoint_statement_problem(
        console_keys, seq=signed_seq, head=head, key_id=key_id, signature=signature
    )
    if problem:
        raise ChainBroken(seq, problem)


def _gap(expected: int, found: int) -> str:
    if found < expected:
        return f"out of order: expected seq {expected}, found {found}"
    return f"gap: expected seq {expected}, found {found}"
