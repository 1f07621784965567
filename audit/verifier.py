"""Stand-alone bundle verifier: `python -m audit.verifier --console-key KEY BUNDLE_DIR`.

No Django, no database. The event hashes, patch hashes and signed bytes are computed here with
the `rfc8785` package directly, independently of the console's own code for them
(patches.chain, patches.canonical). The console's public key comes from the caller, never from
the bundle alone: a bundle re-hashed and re-signed with another key is refused.

Checks an export_log bundle: the manifest's signature and file hashes, the hash chain, every
checkpoint (the rows, the CheckpointSigned events and the recorded head), that a signature
covers every event, every proposal's signature and patch_hash, that every logged patch has a
verified proposal, the agent keys against their events, the lifecycle rules
(audit.lifecycle_rules), a replay of every target from genesis, and every label's history
(audit.label_history: each move names an existing version and starts where the label was).
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

from audit.label_history import LabelHistory, LabelHistoryBroken
from audit.lifecycle_rules import Account, LifecycleBroken, LifecycleChecker
from audit.verifier_tlog import TransparencyInvalid, check_transparency
from patches.canonical import JSONInputError, is_hash, parse_json, sha256_hash
from patches.client.tlog import ProofError, Verifier, parse_vkey
from patches.formats import PatchError, apply_patch, content_hash
from patches.signing import (
    KeyFormatError,
    SignatureError,
    key_id_of,
    load_public_key_pem,
    verify_bytes,
)

EVENT_KEYS = {"seq", "kind", "actor", "payload", "created_at", "prev_hash", "hash"}
PROPOSAL_KEYS = {"id", "target", "patch_hash", "envelope", "signatures"}
BUNDLE_FORMAT = "patch-console-log/1"
GENESIS_PREV_HASH = "sha256:" + "0" * 64
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


class BundleInvalid(Exception):
    """The first problem found in the bundle."""


def _json(path: Path) -> Any:
    try:
        return parse_json(path.read_bytes(), max_depth=200)
    except (OSError, JSONInputError) as exc:
        raise BundleInvalid(f"{path.name}: {exc}") from exc


def _lines(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleInvalid(f"{path.name}: {exc}") from exc
    if data and not data.endswith(b"\n"):
        raise BundleInvalid(f"{path.name}: the last line is cut off")
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            yield number, parse_json(line, max_depth=200)
        except JSONInputError as exc:
            raise BundleInvalid(f"{path.name} line {number}: {exc}") from exc


def _raw_key(hex_key: Any, key_id: Any, where: str) -> bytes:
    try:
        raw = bytes.fromhex(hex_key)
    except (TypeError, ValueError) as exc:
        raise BundleInvalid(f"{where}: public key is not hex") from exc
    if len(raw) != 32 or key_id_of(raw) != key_id:
        raise BundleInvalid(f"{where}: key_id is not the sha256 of the public key")
    return raw


def console_keys_of(keys: dict[str, Any], trusted: list[str]) -> dict[str, bytes]:
    """key id → public key of the console keys the caller trusts, as the bundle spells them.

    `trusted` holds key ids given out of band; a key in the bundle that is not among them is
    never used, and a trusted key the bundle does not carry cannot check anything.
    """
    listed = [keys["console"], *keys.get("console_retired", [])]
    known = {}
    for entry in listed:
        raw = _raw_key(entry["public_key"], entry["key_id"], "keys.json console")
        if entry["key_id"] in trusted:
            known[entry["key_id"]] = raw
    if keys["console"]["key_id"] not in known:
        raise BundleInvalid(
            f"keys.json: the bundle is signed by console key {keys['console']['key_id']}, which "
            "is not a key you gave (--console-key)"
        )
    return known


def check_manifest(bundle: Path, trusted: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    manifest = _json(bundle / "manifest.json")
    keys = _json(bundle / "keys.json")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleInvalid(f"manifest.json: not a {BUNDLE_FORMAT} manifest")
    try:
        console_key = console_keys_of(keys, trusted)[keys["console"]["key_id"]]
        unsigned = {k: v for k, v in manifest.items() if k != "signature"}
        verify_bytes(console_key, _jcs(unsigned), manifest["signature"])
    except (KeyError, TypeError) as exc:
        raise BundleInvalid(f"manifest.json or keys.json: missing {exc}") from exc
    except SignatureError as exc:
        raise BundleInvalid(f"manifest.json: {exc} (console key)") from exc
    listed = manifest["files"]
    present = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    for name in present:
        if name != "manifest.json" and name not in listed:
            raise BundleInvalid(f"{name}: not listed in the manifest")
    for name, expected in sorted(listed.items()):
        path = bundle / name
        if not path.is_file():
            raise BundleInvalid(f"{name}: listed in the manifest but missing")
        if sha256_hash(path.read_bytes()) != expected:
            raise BundleInvalid(f"{name}: contents differ from the manifest's hash")
    return manifest, keys


def _jcs(value: Any) -> bytes:
    """RFC 8785 bytes straight from the rfc8785 package: not the console's canonical(), whose
    fast path this verifier is meant to check independently."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, UnicodeEncodeError) as exc:
        raise ValueError(f"cannot canonicalize: {exc}") from exc


def event_hash(
    *, seq: int, kind: str, actor: str, payload: Any, created_at: str, prev_hash: str
) -> str:
    """The contract's definition of an event's hash (DESIGN.md, Events), from parsed parts."""
    covered = {
        "seq": seq,
        "kind": kind,
        "actor": actor,
        "payload": payload,
        "created_at": created_at,
        "prev_hash": prev_hash,
    }
    return "sha256:" + hashlib.sha256(_jcs(covered)).hexdigest()


def _statement_problem(console_keys: dict[str, bytes], statement: Any) -> str | None:
    """Why a signed (seq, head) statement cannot be trusted, or None."""
    seq, head, key_id, signature = (
        statement["seq"],
        statement["head"],
        statement["key_id"],
        statement["signature"],
    )
    if key_id not in console_keys:
        return f"checkpoint signed by key {key_id}, not a console key you gave"
    if not is_hash(head):
        return "checkpoint head is not a sha256: hash"
    try:
        verify_bytes(console_keys[key_id], _jcs({"seq": seq, "head": head}), signature)
    except (SignatureError, ValueError) as exc:
        return f"checkpoint signature: {exc}"
    return None


def _checkpoints(bundle: Path, console_keys: dict[str, bytes]) -> dict[int, tuple[str, str | None]]:
    """seq → (the head signed there, or why that checkpoint cannot be trusted): the rows, and
    the head the console recorded outside its database (head.json)."""
    checkpoints: dict[int, tuple[str, str | None]] = {}
    statements = list(_lines(bundle / "checkpoints.jsonl"))
    if (bundle / "head.json").is_file():
        statements.append((0, _json(bundle / "head.json")))
    for number, cp in statements:
        where = f"checkpoints.jsonl line {number}" if number else "head.json"
        try:
            seq, head = cp["seq"], cp["head"]
            problem = _statement_problem(console_keys, cp)
        except (KeyError, TypeError) as exc:
            raise BundleInvalid(f"{where}: missing {exc}") from exc
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise BundleInvalid(f"{where}: seq is not a positive integer")
        if seq in checkpoints and checkpoints[seq][0] != head:
            problem = problem or f"two different heads are signed at seq {seq}"
        checkpoints[seq] = (head, problem or checkpoints.get(seq, ("", None))[1])
    return checkpoints


@dataclass
class Chain:
    """What check_events found: the events, their count, the head, the checkpoints."""

    events: list[dict[str, Any]]
    head: str
    checkpoints: dict[int, tuple[str, str | None]]

    @property
    def count(self) -> int:
        return len(self.events)


def check_events(bundle: Path, console_keys: dict[str, bytes]) -> Chain:
    checkpoints = _checkpoints(bundle, console_keys)
    events: list[dict[str, Any]] = []
    head = GENESIS_PREV_HASH
    for number, event in _lines(bundle / "events.jsonl"):
        where = f"events.jsonl line {number}"
        if not isinstance(event, dict) or set(event) != EVENT_KEYS:
            raise BundleInvalid(f"{where}: not an event")
        if not isinstance(event["payload"], dict):
            raise BundleInvalid(f"{where}: payload is not an object")
        seq = event["seq"]
        if seq != len(events) + 1:
            raise BundleInvalid(f"{where}: expected seq {len(events) + 1}, found {seq!r}")
        if not isinstance(event["created_at"], str) or not _TIMESTAMP.fullmatch(
            event["created_at"]
        ):
            raise BundleInvalid(f"{where}: created_at is not RFC 3339 UTC with microseconds")
        if event["prev_hash"] != head:
            raise BundleInvalid(f"{where}: prev_hash does not link to the previous event's hash")
        try:
            digest = event_hash(**{key: event[key] for key in EVENT_KEYS - {"hash"}})
        except ValueError as exc:
            raise BundleInvalid(f"{where}: {exc}") from exc
        if digest != event["hash"]:
            raise BundleInvalid(f"{where}: hash mismatch at seq {seq}")
        if seq in checkpoints:
            signed_head, problem = checkpoints[seq]
            if problem:
                raise BundleInvalid(f"{where}: {problem}")
            if signed_head != digest:
                raise BundleInvalid(f"{where}: the head differs from the checkpoint at seq {seq}")
        if event["kind"] == "CheckpointSigned":
            _check_signed_event(where, event, head, console_keys)
            checkpoints.setdefault(seq - 1, (head, None))
        head = digest
        events.append(event)
    beyond = [seq for seq in checkpoints if seq > len(events)]
    if beyond:
        raise BundleInvalid(
            f"events.jsonl: a checkpoint is signed at seq {min(beyond)} but the log ends at seq "
            f"{len(events)}: events are missing"
        )
    _check_covered(events, checkpoints)
    return Chain(events=events, head=head, checkpoints=checkpoints)


def _check_signed_event(
    where: str, event: dict[str, Any], prev_head: str, console_keys: dict[str, bytes]
) -> None:
    """A CheckpointSigned event signs the event just before it, with a console key."""
    statement = event["payload"]
    try:
        problem = _statement_problem(console_keys, statement)
    except (KeyError, TypeError) as exc:
        raise BundleInvalid(f"{where}: CheckpointSigned is missing {exc}") from exc
    if statement["seq"] != event["seq"] - 1 or statement["head"] != prev_head:
        raise BundleInvalid(f"{where}: CheckpointSigned does not sign the event before it")
    if problem:
        raise BundleInvalid(f"{where}: {problem}")


def _check_covered(events: list[dict[str, Any]], checkpoints: dict[int, Any]) -> None:
    """A signature covers every event: the export signs the head before writing the bundle, so
    only the CheckpointSigned event of the last checkpoint may follow it."""
    last = max(checkpoints, default=0)
    uncovered = events[last:]
    if uncovered and uncovered[0]["kind"] == "CheckpointSigned":
        uncovered = uncovered[1:]  # the last checkpoint's own event
    if uncovered:
        raise BundleInvalid(
            f"events.jsonl: events from seq {uncovered[0]['seq']} on are covered by no signed "
            "checkpoint: the console did not vouch for them"
        )


def check_lifecycle(keys: dict[str, Any], events: list[dict[str, Any]]) -> int:
    """The lifecycle rules over the bundle's events; returns the number of applied patches."""
    accounts = {
        a["username"]: Account(joined_at=a["joined_at"], admin=bool(a["admin"]))
        for a in keys.get("accounts", [])
    }
    checker = LifecycleChecker(accounts=accounts)
    try:
        for event in events:
            checker.feed(
                event["seq"], event["kind"], event["actor"], event["payload"], event["created_at"]
            )
    except LifecycleBroken as exc:
        raise BundleInvalid(f"event seq {exc.seq}: {exc.problem}") from exc
    return checker.applied


def check_proposals(bundle: Path, keys: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """patch_hash → signed proposal, for every proposal whose signatures verify."""
    agent_keys = {
        k["key_id"]: _raw_key(k["public_key"], k["key_id"], f"keys.json agent {k.get('agent')}")
        for k in keys["agents"]
    }
    verified: dict[str, dict[str, Any]] = {}
    for number, row in _lines(bundle / "proposals.jsonl"):
        where = f"proposals.jsonl line {number}"
        if not isinstance(row, dict) or set(row) != PROPOSAL_KEYS:
            raise BundleInvalid(f"{where}: not a proposal record")
        try:
            envelope = parse_json(row["envelope"])
            proposal = envelope["proposal"]
            signature = envelope["signature"]
            signatures = [signature, *row["signatures"]]
            if "sha256:" + hashlib.sha256(_jcs(proposal)).hexdigest() != row["patch_hash"]:
                raise BundleInvalid(f"{where}: patch_hash is not sha256(canonical(proposal))")
            if not row["signatures"]:
                raise BundleInvalid(f"{where}: no signature rows")
            for sig in signatures:
                if sig["algorithm"] != "ed25519" or sig["key_id"] not in agent_keys:
                    raise BundleInvalid(f"{where}: signed by unknown key {sig['key_id']}")
                verify_bytes(agent_keys[sig["key_id"]], _jcs(proposal), sig["value"])
        except (JSONInputError, KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, BundleInvalid):
                raise
            raise BundleInvalid(f"{where}: {exc}") from exc
        verified[row["patch_hash"]] = proposal
    return verified


def check_keys_against_events(keys: dict[str, Any], events: list[dict[str, Any]]) -> None:
    listed = {(k["agent"], k["key_id"], k["public_key"]) for k in keys["agents"]}
    registered = {
        (e["payload"].get("agent"), e["payload"].get("key_id"), e["payload"].get("public_key"))
        for e in events
        if e["kind"] == "AgentKeyRegistered"
    }
    if listed != registered:
        raise BundleInvalid("keys.json: agent keys differ from the AgentKeyRegistered events")
    revoked = {e["payload"].get("key_id") for e in events if e["kind"] == "AgentKeyRevoked"}
    for key in keys["agents"]:
        if (key["revoked_at"] is not None) != (key["key_id"] in revoked):
            raise BundleInvalid(f"keys.json: key {key['key_id']} revocation differs from the log")


def replay(
    bundle: Path,
    manifest: dict[str, Any],
    events: list[dict[str, Any]],
    proposals: dict[str, dict[str, Any]],
) -> tuple[int, int]:
    targets: dict[str, dict[str, Any]] = {}
    for event in events:
        payload, kind = event["payload"], event["kind"]
        where = f"event seq {event['seq']}"
        if kind in ("PatchProposed", "PatchApplied") and payload.get("patch_hash") not in proposals:
            raise BundleInvalid(
                f"{where}: {kind} of {payload.get('patch_hash')} has no verified proposal"
            )
        if kind == "TargetCreated":
            name = payload["target"]
            info = manifest["targets"].get(name)
            if info is None:
                raise BundleInvalid(f"{where}: no genesis for target {name}")
            try:
                content = (bundle / info["genesis"]).read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise BundleInvalid(f"{info['genesis']}: {exc}") from exc
            if content_hash(content) != payload["content_hash"]:
                raise BundleInvalid(f"replay {name} version 1: genesis differs from the log's hash")
            targets[name] = {"info": info, "content": content, "version": 1}
        elif kind == "PatchApplied":
            name = payload.get("target")
            state = targets.get(name)
            version = payload.get("version")
            if state is None or version != state["version"] + 1:
                raise BundleInvalid(f"replay {name} version {version}: out of sequence")
            proposal = proposals[payload["patch_hash"]]
            info = state["info"]
            try:
                result = apply_patch(
                    patch_type=info["patch_type"],
                    base=state["content"],
                    patch=proposal["patch"],
                    schema=info["schema"],
                )
            except (PatchError, ValueError) as exc:
                raise BundleInvalid(f"replay {name} version {version}: {exc}") from exc
            if content_hash(result.content) != payload["content_hash"]:
                raise BundleInvalid(f"replay {name} version {version}: content hash differs")
            state.update(content=result.content, version=version)
    return len(targets), sum(t["version"] for t in targets.values())


def check_labels(events: list[dict[str, Any]]) -> tuple[int, int]:
    """Every label's history from the events: (labels, moves)."""
    history = LabelHistory()
    try:
        for event in events:
            history.feed(event["seq"], event["kind"], event["payload"])
        labels = history.finish()
    except LabelHistoryBroken as exc:
        raise BundleInvalid(f"event seq {exc.seq}: {exc.problem}") from exc
    return sum(len(names) for names in labels.values()), history.moves


def bundle_verify(
    bundle: Path, trusted: list[str], witnesses: list[Verifier] | None = None, quorum: int = 0
) -> str:
    """'OK …' for a bundle that checks out; raises BundleInvalid at the first problem.

    `trusted`: the key ids of the console keys to trust (current and retired), out of band.
    `witnesses`, `quorum`: witness verifier keys, out of band, and how many of them must have
    cosigned the bundle's latest checkpoint (audit.verifier_tlog).
    """
    manifest, keys = check_manifest(bundle, trusted)
    console_keys = console_keys_of(keys, trusted)
    checker = check_events(bundle, console_keys)
    events = checker.events
    if manifest["events"] != checker.count or manifest["head"] != checker.head:
        raise BundleInvalid("manifest.json: event count or head differs from events.jsonl")
    proposals = check_proposals(bundle, keys)
    check_keys_against_events(keys, events)
    check_lifecycle(keys, events)
    targets, versions = replay(bundle, manifest, events, proposals)
    labels, moves = check_labels(events)
    try:
        transparency = check_transparency(
            bundle, events, console_keys, witnesses=witnesses or [], quorum=quorum
        )
    except TransparencyInvalid as exc:
        raise BundleInvalid(str(exc)) from exc
    return (
        f"OK {checker.count} events, head {checker.head}; {len(proposals)} proposals, "
        f"{len(checker.checkpoints)} checkpoints; replayed {targets} targets, {versions} versions, "
        f"{labels} labels, {moves} label moves; {transparency}"
    )


def trusted_key_id(value: str) -> str:
    """A --console-key value as a key id: a PEM public key file, or the key id itself."""
    path = Path(value)
    if path.is_file():
        try:
            return key_id_of(load_public_key_pem(path.read_bytes()))
        except (OSError, KeyFormatError) as exc:
            raise BundleInvalid(f"--console-key {value}: {exc}") from exc
    if re.fullmatch(r"[0-9a-f]{64}", value):
        return value
    raise BundleInvalid(
        f"--console-key {value!r}: give a PEM public key file or the key id (64 hex characters)"
    )


USAGE = (
    "usage: python -m audit.verifier --console-key KEY [--console-key KEY ...] "
    "[--witness-key VKEY ... [--witness-quorum K]] BUNDLE_DIR\n"
    "VKEY: a witness's verifier key (python -m audit.witness --print-vkey); K (default 1): how "
    "many of them must have cosigned the latest checkpoint\n"
    "KEY: the console's public key as a PEM file, or its key id (64 hex), obtained out of band "
    "(console page /events/ or `manage.py console_key`); repeat it for retired keys"
)


def _arguments(argv: list[str]) -> tuple[list[str], Path] | None:
    trusted, rest = [], []
    items = iter(argv)
    for item in items:
        if item in ("--witness-key", "--witness-quorum"):
            rest.append(f"{item}={next(items, '')}")
        elif item == "--console-key":
            trusted.append(next(items, ""))
        elif item.startswith("--console-key="):
            trusted.append(item.split("=", 1)[1])
        else:
            rest.append(item)
    rest = [item for item in rest if not item.startswith("--witness-")]
    if len(rest) != 1 or not trusted or not all(trusted):
        return None
    return trusted, Path(rest[0])


def _witness_policy(argv: list[str]) -> tuple[list[Verifier], int]:
    """--witness-key VKEY (repeatable) and --witness-quorum K (default 1 with any key)."""
    keys, quorum = [], None
    items = iter(argv)
    for item in items:
        name, _, value = item.partition("=")
        if name in ("--witness-key", "--witness-quorum") and not value:
            value = next(items, "")
        if name == "--witness-key":
            keys.append(parse_vkey(value))
        elif name == "--witness-quorum":
            quorum = int(value)
    if quorum is not None and not 0 <= quorum <= len(keys):
        raise ValueError(f"--witness-quorum {quorum}: between 0 and the {len(keys)} keys given")
    return keys, (1 if keys else 0) if quorum is None else quorum


def main(argv: list[str]) -> int:
    parsed = _arguments(argv)
    if parsed is None:
        print(USAGE, file=sys.stderr)
        return 2
    values, bundle = parsed
    try:
        witnesses, quorum = _witness_policy(argv)
    except (ProofError, ValueError) as exc:
        print(f"FAIL: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    if not (bundle / "manifest.json").is_file():
        print(f"FAIL: {bundle} has no manifest.json: is it an export_log bundle?", file=sys.stderr)
        return 1
    try:
        trusted = [trusted_key_id(value) for value in values]
        for key_id in trusted:
            print(f"using console key {key_id}")
        print(bundle_verify(bundle, trusted, witnesses, quorum))
    except BundleInvalid as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Signed and hashed files that are still malformed: report, never crash.
        print(f"FAIL: malformed bundle: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
