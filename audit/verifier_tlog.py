"""The stand-alone verifier's transparency log checks (no Django): every checkpoint note's
signatures, each signed root recomputed from the bundle's events, consistency between
successive checkpoints, the witnesses' cosignatures under a k-of-n policy, every .tlog-proof.

Used by audit.verifier; the event hashes it is given were already recomputed there with rfc8785.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patches import merkle
from patches.client.tlog import (
    ProofError,
    Verifier,
    checkpoint_open,
    event_entry,
    tlog_proof_verify,
    verify_consistency,
)

_NOTE_FILE = re.compile(r"[1-9][0-9]*\.note")
_PROOF_FILE = re.compile(r"[1-9][0-9]*\.tlog-proof")


class TransparencyInvalid(Exception):
    """The first transparency log problem found in the bundle."""


def _files(folder: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    if not folder.is_dir():
        raise TransparencyInvalid(f"{folder.name}/ is missing")
    found = {}
    for path in folder.iterdir():
        if not pattern.fullmatch(path.name):
            raise TransparencyInvalid(f"{folder.name}/{path.name}: not a file of this bundle")
        found[int(path.name.split(".")[0])] = path
    return found


def check_transparency(
    bundle: Path,
    events: Sequence[dict[str, Any]],
    console_keys: dict[str, bytes],
    *,
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
) -> str:
    """A summary line, or TransparencyInvalid at the first problem. A bundle from before the
    transparency log (no tlog-keys.json) passes only when no witness policy is asked for."""
    keys_path = bundle / "tlog-keys.json"
    if not keys_path.is_file():
        if witnesses:
            raise TransparencyInvalid(
                "the bundle has no transparency log, but witness keys were given"
            )
        return "no transparency log (an older bundle)"
    origin = json.loads(keys_path.read_text())["origin"]
    logs = [Verifier(name=origin, public_key=raw) for raw in console_keys.values()]
    notes = _files(bundle / "checkpoints", _NOTE_FILE)
    sizes = sorted(notes)
    if sizes and sizes[-1] > len(events):
        raise TransparencyInvalid(f"a checkpoint of size {sizes[-1]} is beyond the events")

    # Every root from the events, in one pass; the nodes serve the consistency proofs below.
    tree, nodes, roots = merkle.CompactRange(), {}, {}
    wanted = set(sizes)
    for event in events[: sizes[-1] if sizes else 0]:
        for level, index, digest in tree.append(event_entry(event["hash"])):
            nodes[(level, index)] = digest
        if tree.size in wanted:
            roots[tree.size] = tree.root

    cosigned_latest = 0
    in_events = {
        e["payload"]["seq"]: e["payload"]["note"]
        for e in events
        if e["kind"] == "CheckpointSigned" and isinstance(e["payload"].get("note"), str)
    }
    for size in sizes:
        where = f"checkpoints/{size}.note"
        text = notes[size].read_text()
        try:
            checkpoint, _note, cosigners = _open_with_any(text, logs, witnesses)
        except ProofError as exc:
            raise TransparencyInvalid(f"{where}: {exc}") from exc
        if checkpoint.size != size:
            raise TransparencyInvalid(f"{where}: it is a checkpoint of size {checkpoint.size}")
        if checkpoint.root != roots[size]:
            raise TransparencyInvalid(
                f"{where}: the signed root is not the root of events 1..{size}"
            )
        if size in in_events and not text.startswith(in_events[size]):
            raise TransparencyInvalid(f"{where}: differs from its CheckpointSigned event")
        cosigned_latest = len(cosigners)
    missing = sorted(set(in_events) - set(sizes))
    if missing:
        raise TransparencyInvalid(f"checkpoints/: the note of size {missing[0]} is missing")
    read = nodes.get
    for older, newer in itertools.pairwise(sizes):
        proof = merkle.consistency_proof(older, newer, lambda w: {k: read(k) for k in w})  # type: ignore[misc]
        try:
            verify_consistency(older, newer, roots[older], roots[newer], proof)
        except ProofError as exc:
            raise TransparencyInvalid(f"checkpoints {older} → {newer}: {exc}") from exc
    if witnesses and sizes and cosigned_latest < quorum:
        raise TransparencyInvalid(
            f"checkpoints/{sizes[-1]}.note: {cosigned_latest} of the witnesses you gave cosigned "
            f"the latest checkpoint; the policy asks {quorum}"
        )

    proofs = _files(bundle / "proofs", _PROOF_FILE)
    applied = [e["seq"] for e in events if e["kind"] == "PatchApplied"]
    covered = [seq for seq in applied if sizes and seq <= sizes[-1]]
    if sorted(proofs) != covered:
        raise TransparencyInvalid("proofs/: not exactly one .tlog-proof per PatchApplied event")
    for seq, path in sorted(proofs.items()):
        try:
            proof, checkpoint, _ = _verify_proof(path.read_text(), events[seq - 1], logs)
        except ProofError as exc:
            raise TransparencyInvalid(f"proofs/{path.name}: {exc}") from exc
        if proof.index != seq - 1:
            raise TransparencyInvalid(f"proofs/{path.name}: proves leaf {proof.index}")
        if checkpoint.root != roots.get(checkpoint.size):
            raise TransparencyInvalid(f"proofs/{path.name}: proves against an unknown tree")
    return f"{len(sizes)} checkpoint notes, {len(proofs)} tlog-proofs" + (
        f", {cosigned_latest} witness cosignatures on the latest" if witnesses else ""
    )


def _open_with_any(text: str, logs: Sequence[Verifier], witnesses: Sequence[Verifier]) -> Any:
    """checkpoint_open under whichever trusted console key (current or retired) signed it."""
    problem: ProofError | None = None
    for log in logs:
        try:
            return checkpoint_open(text, log, witnesses=witnesses)
        except ProofError as exc:
            problem = exc
    raise problem or ProofError("no console key to check it with")


def _verify_proof(text: str, event: dict[str, Any], logs: Sequence[Verifier]) -> Any:
    problem: ProofError | None = None
    for log in logs:
        try:
            return tlog_proof_verify(text, entry=event_entry(event["hash"]), log=log)
        except ProofError as exc:
            problem = exc
    raise problem or ProofError("no console key to check it with")
