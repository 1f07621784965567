"""Verifying the transparency log in the database: every checkpoint note's signature, each
signed root recomputed from the events, the stored tree's consistency proofs between successive
checkpoints, the witnesses' cosignatures, and (when asked) the witnesses' own view.

A history rewritten by someone holding the database and the console key passes the chain
checks (they can recompute every hash and MAC and re-sign every checkpoint), but not these: a
witness's cosignature covers the old root at its size, and a witness asked to cosign the
rewritten head finds it inconsistent with what it cosigned (audit.witnesses).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from django.conf import settings

from audit.checkpoints import console_log_verifiers
from audit.models import Checkpoint
from audit.tree import consistency_proof
from audit.witnesses import (
    Witness,
    WitnessRefused,
    WitnessUnavailable,
    checkpoint_witness_submit,
)
from patches.client.tlog import (
    Note,
    NoteSignature,
    ProofError,
    event_entry,
    note_verified_by,
    parse_checkpoint,
    parse_note,
    parse_signature_lines,
    signature_verifies,
    verify_consistency,
)
from patches.merkle import CompactRange
from patches.models import Event

CHUNK_SIZE = 20_000


class TransparencyBroken(Exception):
    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"FAIL at seq {seq}: {problem}")
        self.seq = seq


@dataclass
class TransparencyReport:
    checkpoints: int = 0
    cosignatures: int = 0
    warnings: list[str] = field(default_factory=list)


def _open(seq: int, text: str) -> tuple[Note, bytes]:
    try:
        note = parse_note(text)
        checkpoint = parse_checkpoint(note.text)
        if not note_verified_by(note, console_log_verifiers()):
            raise ProofError("no console key (current or retired) signed it")
    except ProofError as exc:
        raise TransparencyBroken(seq, f"the checkpoint note at size {seq}: {exc}") from exc
    if checkpoint.origin != settings.LOG_ORIGIN or checkpoint.size != seq:
        raise TransparencyBroken(seq, f"the checkpoint note at size {seq} names another tree")
    return note, checkpoint.root


def _notes() -> dict[int, str]:
    """size → signed note, from the checkpoint rows and the CheckpointSigned events (which the
    chain covers, so a deleted row is still seen); the two must agree."""
    notes = dict(Checkpoint.objects.exclude(note="").values_list("seq", "note"))
    events = Event.objects.filter(kind="CheckpointSigned", payload__contains='"note":')
    for seq, payload in events.values_list("seq", "payload").iterator():
        statement = json.loads(payload)
        size, text = statement.get("seq"), statement.get("note")
        if not isinstance(size, int) or not isinstance(text, str):
            raise TransparencyBroken(seq, "CheckpointSigned holds a malformed note")
        if notes.setdefault(size, text) != text:
            raise TransparencyBroken(size, "the checkpoint row differs from its CheckpointSigned")
    return notes


def _recomputed_roots(sizes: list[int]) -> dict[int, bytes]:
    """The root at each size, from the event hashes in one pass (never the stored tree)."""
    tree, roots, wanted, after = CompactRange(), {}, set(sizes), 0
    last = max(sizes, default=0)
    while after < last:
        rows = list(
            Event.objects.filter(seq__gt=after, seq__lte=last)
            .order_by("seq")
            .values_list("seq", "hash")[:CHUNK_SIZE]
        )
        if not rows:
            raise TransparencyBroken(
                after + 1, f"a checkpoint is signed at size {last}, the log ends at seq {after}"
            )
        for seq, event_hash in rows:
            tree.append(event_entry(event_hash))
            if seq in wanted:
                roots[seq] = tree.root
        after = rows[-1][0]
    return roots


def verify_transparency(
    *, witnesses: list[Witness], ask_witnesses: bool = False
) -> TransparencyReport:
    """Raise TransparencyBroken at the first checkpoint that does not hold; see the module."""
    report = TransparencyReport()
    notes = _notes()
    sizes = sorted(notes)
    opened = {size: _open(size, notes[size]) for size in sizes}
    roots = _recomputed_roots(sizes)
    for size in sizes:
        if roots[size] != opened[size][1]:
            raise TransparencyBroken(
                size, f"the root signed at size {size} is not the root of the events"
            )
    for older, newer in itertools.pairwise(sizes):
        try:
            verify_consistency(
                older, newer, roots[older], roots[newer], consistency_proof(older, newer)
            )
        except (ProofError, LookupError) as exc:
            raise TransparencyBroken(
                newer, f"the stored tree from {older} to {newer}: {exc}"
            ) from exc
    report.checkpoints = len(sizes)
    by_name = {w.name: w for w in witnesses}
    rows = Checkpoint.objects.exclude(note="").prefetch_related("cosignatures").order_by("seq")
    for checkpoint in rows:
        text = opened[checkpoint.seq][0].text
        for cosignature in checkpoint.cosignatures.all():
            witness = by_name.get(cosignature.witness)
            if witness is None:
                continue
            (line,) = _lines(checkpoint.seq, cosignature.line)
            if line.key_id != witness.verifier.key_id or not signature_verifies(
                witness.verifier, text, line
            ):
                raise TransparencyBroken(
                    checkpoint.seq,
                    f"witness {witness.name} cosigned another checkpoint at size "
                    f"{checkpoint.seq}: the history under it has changed since",
                )
            report.cosignatures += 1
    if ask_witnesses and sizes:
        latest = Checkpoint.objects.exclude(note="").order_by("-seq").first()
        for witness in witnesses:
            if not witness.url or latest is None:
                continue
            try:
                checkpoint_witness_submit(checkpoint=latest, witness=witness)
            except WitnessRefused as exc:
                if exc.inconsistent:
                    raise TransparencyBroken(latest.seq, str(exc)) from exc
                report.warnings.append(f"witness {witness.name}: {exc}")
            except WitnessUnavailable as exc:
                report.warnings.append(f"witness {witness.name} was not asked: {exc}")
    return report


def _lines(seq: int, text: str) -> list[NoteSignature]:
    try:
        return parse_signature_lines([text.rstrip("\n")])
    except ProofError as exc:
        raise TransparencyBroken(seq, f"a stored cosignature is malformed: {exc}") from exc
