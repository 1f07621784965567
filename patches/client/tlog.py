"""The transparency log's formats and checks, pure: RFC 9162 proofs and the C2SP texts.

No Django and nothing of the project outside patches.client, so an agent installs it alone; the
console (patches.merkle, audit.checkpoints), the witness (audit.witness) and the stand-alone
verifier use these same functions, so every side reads the formats one way.

- RFC 9162 section 2.1: leaf hash = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right),
  inclusion (2.1.3.2) and consistency (2.1.4.2) proof verification.
- C2SP signed-note (Ed25519, type 0x01), tlog-checkpoint, tlog-cosignature (Ed25519, type 0x04),
  tlog-proof, and the verifier-key ("vkey") text `name+hex key id+base64(type ‖ key)`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HASH_SIZE = 32
SIG_ED25519 = 0x01
SIG_COSIGNATURE = 0x04
PROOF_HEADER = "c2sp.org/tlog-proof@v1"
COSIGNATURE_HEADER = "cosignature/v1"
# Limits on what is read from the network: a note with more signatures than this, or a proof
# longer than a 2^63-leaf tree needs, is refused before any work.
MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 64
MAX_PROOF_HASHES = 63
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


class ProofError(ValueError):
    """A Merkle proof, note or checkpoint that does not verify; the message says why."""


# --- RFC 9162 hashing and proof verification ------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def event_entry(event_hash: str) -> bytes:
    """A log entry: the 32 raw bytes of an event's `sha256:<hex>` hash (DESIGN.md)."""
    if not event_hash.startswith("sha256:") or len(event_hash) != 71:
        raise ProofError(f"not a sha256: event hash: {event_hash!r}")
    try:
        return bytes.fromhex(event_hash[7:])
    except ValueError as exc:
        raise ProofError(f"not a sha256: event hash: {event_hash!r}") from exc


def _hashes(proof: Sequence[bytes]) -> None:
    if len(proof) > MAX_PROOF_HASHES:
        raise ProofError(f"a proof has at most {MAX_PROOF_HASHES} hashes, got {len(proof)}")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a proof hash is not 32 bytes")


def inclusion_root(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` proves leaf `index` is in, for a tree of `size` (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError("the leaf hash is not 32 bytes")
    _hashes(proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    if inclusion_root(index, size, leaf, proof) != root:
        raise ProofError(f"leaf {index} is not in the tree of size {size} with that root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless the tree (size2, root2) extends (size1, root1) (RFC 9162 2.1.4.2)."""
    _hashes(proof)
    if not 0 <= size1 <= size2:
        raise ProofError(f"size {size1} cannot grow into size {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes take an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the same size {size1}")
        if size1 == 0:
            raise ProofError("an empty tree is consistent with nothing to check")
        return
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if len(root1) != HASH_SIZE or len(root2) != HASH_SIZE:
        raise ProofError("a root hash is not 32 bytes")
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # an exact power of 2: the old root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != root1:
        raise ProofError(f"the proof does not lead to the root signed at size {size1}")
    if sr != root2:
        raise ProofError(f"the proof does not lead to the root signed at size {size2}")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str, *, size: int | None = None) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProofError(f"not base64: {text[:80]!r}") from exc
    if size is not None and len(raw) != size:
        raise ProofError(f"expected {size} bytes of base64, got {len(raw)}")
    return raw


# --- C2SP signed-note -----------------------------------------------------------------------


def note_key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4], as signed-note and tlog-cosignature derive it."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A trusted key: its name, signature type (0x01 note signer, 0x04 cosigner) and raw key."""

    name: str
    public_key: bytes
    sig_type: int = SIG_ED25519

    @property
    def key_id(self) -> bytes:
        return note_key_id(self.name, self.sig_type, self.public_key)

    @property
    def vkey(self) -> str:
        payload = b64(bytes([self.sig_type]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{payload}"


def _check_key_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise ProofError(f"a key name must be non-empty, without spaces or '+': {name!r}")


def parse_vkey(text: str) -> Verifier:
    """`name+<8 hex key id>+<base64(type ‖ 32-byte Ed25519 key)>` → Verifier."""
    parts = text.strip().split("+", 2)  # the key name has no "+"; the base64 may
    if len(parts) != 3:
        raise ProofError(f"a verifier key is name+keyid+key, got {text[:100]!r}")
    name, key_id, payload = parts
    _check_key_name(name)
    raw = unb64(payload)
    if len(raw) != 33 or raw[0] not in (SIG_ED25519, SIG_COSIGNATURE):
        raise ProofError("a verifier key holds a type byte (0x01 or 0x04) and 32 key bytes")
    verifier = Verifier(name=name, public_key=raw[1:], sig_type=raw[0])
    if verifier.key_id.hex() != key_id.lower():
        raise ProofError(f"verifier key {name}: the key id does not match the key")
    return verifier


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes  # what follows the key id: for a cosignature, timestamp ‖ Ed25519 sig

    @property
    def line(self) -> str:
        return f"\u2014 {self.name} {b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    text: str  # the note text, its final newline included
    signatures: tuple[NoteSignature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


def parse_signature_lines(lines: Iterable[str]) -> list[NoteSignature]:
    signatures = []
    for line in lines:
        if not line.startswith("\u2014 "):
            raise ProofError(f"not a note signature line: {line[:80]!r}")
        name, _, encoded = line[2:].partition(" ")
        _check_key_name(name)
        raw = unb64(encoded)
        if len(raw) < 5:
            raise ProofError("a note signature is shorter than its key id")
        signatures.append(NoteSignature(name=name, key_id=raw[:4], signature=raw[4:]))
    if len(signatures) > MAX_SIGNATURES:
        raise ProofError(f"a note has at most {MAX_SIGNATURES} signatures")
    return signatures


def parse_note(text: str) -> Note:
    """Split a signed note into its text and its signatures (the text ends at the last blank
    line); checks the format only, not the signatures."""
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise ProofError(f"a signed note is at most {MAX_NOTE_BYTES} bytes")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise ProofError("a signed note holds no control characters but newlines")
    if not text.endswith("\n"):
        raise ProofError("a signed note ends with a newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise ProofError("a signed note has a blank line before its signatures")
    body, signature_block = text[: split + 1], text[split + 2 :]
    lines = signature_block[:-1].split("\n") if signature_block else []
    signatures = parse_signature_lines(lines)
    if not signatures:
        raise ProofError("a signed note has at least one signature")
    return Note(text=body, signatures=tuple(signatures))


def note_sign(private_key: Ed25519PrivateKey, name: str, text: str) -> NoteSignature:
    """An Ed25519 (type 0x01) signature of the note text under key `name`."""
    _check_key_name(name)
    public = private_key.public_key().public_bytes_raw()
    return NoteSignature(
        name=name,
        key_id=note_key_id(name, SIG_ED25519, public),
        signature=private_key.sign(text.encode("utf-8")),
    )


def _ed25519_ok(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def cosignature_message(timestamp: int, body: str) -> bytes:
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n{body}".encode()


def cosign(private_key: Ed25519PrivateKey, name: str, body: str, timestamp: int) -> NoteSignature:
    """A C2SP tlog-cosignature/v1 (type 0x04) of a checkpoint body at POSIX time `timestamp`."""
    _check_key_name(name)
    if not 0 <= timestamp < 2**63:
        raise ProofError("a cosignature timestamp is in 0 .. 2^63-1")
    public = private_key.public_key().public_bytes_raw()
    signature = private_key.sign(cosignature_message(timestamp, body))
    return NoteSignature(
        name=name,
        key_id=note_key_id(name, SIG_COSIGNATURE, public),
        signature=struct.pack(">Q", timestamp) + signature,
    )


def signature_verifies(verifier: Verifier, text: str, signature: NoteSignature) -> bool:
    """Whether one signature line, whose name and key id are the verifier's, verifies."""
    if verifier.sig_type == SIG_COSIGNATURE:
        if len(signature.signature) != 72:
            return False
        (timestamp,) = struct.unpack(">Q", signature.signature[:8])
        if timestamp >= 2**63:
            return False
        message = cosignature_message(timestamp, text)
        return _ed25519_ok(verifier.public_key, signature.signature[8:], message)
    return _ed25519_ok(verifier.public_key, signature.signature, text.encode("utf-8"))


def cosignature_time(signature: NoteSignature) -> int:
    return int(struct.unpack(">Q", signature.signature[:8])[0])


def note_verified_by(note: Note, verifiers: Iterable[Verifier]) -> list[Verifier]:
    """The known verifiers whose signature on the note verifies. Signatures of unknown keys are
    ignored (as signed-note says); a known key's signature that fails refuses the whole note."""
    known = {(v.name, v.key_id): v for v in verifiers}
    good: list[Verifier] = []
    for signature in note.signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not signature_verifies(verifier, note.text, signature):
            raise ProofError(f"the signature of {signature.name} does not verify")
        if verifier not in good:
            good.append(verifier)
    return good


# --- C2SP tlog-checkpoint and tlog-proof ----------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        lines = [self.origin, str(self.size), b64(self.root), *self.extensions]
        return "\n".join(lines) + "\n"


def parse_checkpoint(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise ProofError("a checkpoint has an origin, a size and a root hash line")
    origin, size, root, *extensions = lines[:-1]
    if not origin:
        raise ProofError("a checkpoint's origin line is empty")
    if not _DECIMAL.fullmatch(size):
        raise ProofError(f"a checkpoint's size is a decimal without leading zeros: {size!r}")
    if any(not line for line in extensions):
        raise ProofError("a checkpoint has no empty extension line")
    return Checkpoint(
        origin=origin,
        size=int(size),
        root=unb64(root, size=HASH_SIZE),
        extensions=tuple(extensions),
    )


def checkpoint_open(
    signed_note: str, log: Verifier, *, witnesses: Sequence[Verifier] = (), quorum: int = 0
) -> tuple[Checkpoint, Note, list[Verifier]]:
    """Verify a checkpoint note: the log's signature, the origin (the log key's name), and at
    least `quorum` of the given witnesses' cosignatures. Returns the cosigners that verified."""
    note = parse_note(signed_note)
    checkpoint = parse_checkpoint(note.text)
    if log not in note_verified_by(note, [log]):
        raise ProofError(f"the checkpoint is not signed by the log key {log.name}")
    if checkpoint.origin != log.name:
        raise ProofError(f"the checkpoint's origin {checkpoint.origin!r} is not {log.name!r}")
    cosigners = [w for w in note_verified_by(note, witnesses) if w != log]
    if len(cosigners) < quorum:
        raise ProofError(
            f"{len(cosigners)} of the witnesses cosigned this checkpoint; the policy asks {quorum}"
        )
    return checkpoint, note, cosigners


def tlog_proof_text(index: int, proof: Sequence[bytes], signed_note: str) -> str:
    lines = [PROOF_HEADER, f"index {index}", *(b64(p) for p in proof)]
    return "\n".join(lines) + "\n\n" + signed_note


@dataclass(frozen=True)
class TlogProof:
    index: int
    proof: tuple[bytes, ...]
    signed_note: str
    extra: bytes | None = None


def parse_tlog_proof(text: str) -> TlogProof:
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES + 8 * 1024:
        raise ProofError("a tlog-proof is too large")
    head, separator, signed_note = text.partition("\n\n")
    if not separator:
        raise ProofError("a tlog-proof has a blank line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != PROOF_HEADER:
        raise ProofError(f"a tlog-proof starts with {PROOF_HEADER}")
    lines = lines[1:]
    extra = None
    if lines and lines[0].startswith("extra "):
        extra = unb64(lines[0][6:])
        lines = lines[1:]
    if not lines or not lines[0].startswith("index ") or not _DECIMAL.fullmatch(lines[0][6:]):
        raise ProofError("a tlog-proof names the entry's index")
    proof = tuple(unb64(line, size=HASH_SIZE) for line in lines[1:])
    if len(proof) > MAX_PROOF_HASHES:
        raise ProofError("a tlog-proof has too many hashes")
    return TlogProof(index=int(lines[0][6:]), proof=proof, signed_note=signed_note, extra=extra)


def tlog_proof_verify(
    text: str,
    *,
    entry: bytes,
    log: Verifier,
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
) -> tuple[TlogProof, Checkpoint, list[Verifier]]:
    """A tlog-proof checked offline: the checkpoint's signatures under the policy (the log key,
    `quorum` of `witnesses`), then the entry's inclusion at its index in that tree."""
    proof = parse_tlog_proof(text)
    checkpoint, _note, cosigners = checkpoint_open(
        proof.signed_note, log, witnesses=witnesses, quorum=quorum
    )
    verify_inclusion(proof.index, checkpoint.size, leaf_hash(entry), proof.proof, checkpoint.root)
    return proof, checkpoint, cosigners


# --- the agent's side: its own PatchApplied events, proven under a trust policy -------------


@dataclass(frozen=True)
class ProofPolicy:
    """Whom the agent trusts: the console's note key, and k of n witnesses' cosigner keys."""

    log: Verifier
    witnesses: tuple[Verifier, ...] = ()
    quorum: int = 0

    @classmethod
    def from_vkeys(cls, log: str, witnesses: Sequence[str] = (), quorum: int = 0) -> ProofPolicy:
        verifiers = tuple(parse_vkey(vkey) for vkey in witnesses)
        if not 0 <= quorum <= len(verifiers):
            raise ProofError(f"a quorum of {quorum} among {len(verifiers)} witness keys")
        if any(v.sig_type != SIG_COSIGNATURE for v in verifiers):
            raise ProofError("a witness key is a cosigner key (type 0x04)")
        return cls(log=parse_vkey(log), witnesses=verifiers, quorum=quorum)


@dataclass(frozen=True)
class ProvenEvent:
    seq: int
    size: int  # the checkpoint it is proven in
    cosigned_by: tuple[str, ...]


def event_hash_of(event: dict[str, Any]) -> str:
    """The event's hash recomputed from its fields (DESIGN.md, Events), so a proof of the hash
    is a proof of what the agent reads in the event."""
    covered = {k: event[k] for k in ("seq", "kind", "actor", "payload", "created_at", "prev_hash")}
    return "sha256:" + hashlib.sha256(rfc8785.dumps(covered)).hexdigest()


def applied_events(client: Any, patch_hash: str, *, page: int = 1000) -> list[dict[str, Any]]:
    """The PatchApplied events of a patch_hash among the events this agent may read."""
    found, after = [], 0
    while True:
        events = client._call("GET", f"/events?after={after}&limit={page}").json()
        found += [
            e
            for e in events
            if e["kind"] == "PatchApplied" and e["payload"].get("patch_hash") == patch_hash
        ]
        if len(events) < page:
            return found
        after = events[-1]["seq"]


def event_proof_check(client: Any, event: dict[str, Any], policy: ProofPolicy) -> ProvenEvent:
    """Fetch GET /events/{seq}/proof and verify it offline under the policy."""
    if event_hash_of(event) != event["hash"]:
        raise ProofError(f"event {event['seq']}: its hash does not match its fields")
    text = client._call("GET", f"/events/{event['seq']}/proof").body.decode("utf-8")
    proof, checkpoint, cosigners = tlog_proof_verify(
        text,
        entry=event_entry(event["hash"]),
        log=policy.log,
        witnesses=policy.witnesses,
        quorum=policy.quorum,
    )
    if proof.index != event["seq"] - 1:
        raise ProofError(f"the proof is for leaf {proof.index}, not event {event['seq']}")
    return ProvenEvent(
        seq=event["seq"], size=checkpoint.size, cosigned_by=tuple(c.name for c in cosigners)
    )


def proposal_applied_check(client: Any, proposal_id: int, policy: ProofPolicy) -> list[ProvenEvent]:
    """Every PatchApplied event of one of this agent's proposals, each proven (ProofError at
    the first that is not; an empty list while the proposal is not applied)."""
    patch_hash = client.status(proposal_id)["patch_hash"]
    return [event_proof_check(client, e, policy) for e in applied_events(client, patch_hash)]


def add_proof_command(commands: Any) -> None:
    """`python -m patches.client proof ID`: the CLI hook (patches.client.__main__)."""
    proof = commands.add_parser(
        "proof", help="verify the tlog-proofs of an applied proposal's PatchApplied events"
    )
    proof.add_argument("id", type=int)
    proof.add_argument(
        "--log-key",
        default=os.environ.get("PATCH_CONSOLE_LOG_KEY", ""),
        help="the console's checkpoint verifier key (manage.py console_key prints it)",
    )
    proof.add_argument(
        "--witness-key",
        action="append",
        default=[k for k in os.environ.get("PATCH_CONSOLE_WITNESS_KEYS", "").split(",") if k],
        help="a witness verifier key (repeatable)",
    )
    proof.add_argument(
        "--quorum",
        type=int,
        default=int(os.environ.get("PATCH_CONSOLE_WITNESS_QUORUM", "0") or 0),
        help="how many of the witnesses must have cosigned the checkpoint (k of n)",
    )


def run_proof_command(client: Any, args: Any) -> int:
    try:
        policy = ProofPolicy.from_vkeys(args.log_key, args.witness_key, args.quorum)
        proven = proposal_applied_check(client, args.id, policy)
    except ProofError as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    if not proven:
        print(f"proposal {args.id} has no PatchApplied event to prove yet", file=sys.stderr)
        return 1
    print(json.dumps([vars(p) | {"cosigned_by": list(p.cosigned_by)} for p in proven], indent=2))
    return 0
