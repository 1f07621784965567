"""The transparency log's part of an export bundle: checkpoints as signed notes (with the
witnesses' cosignatures), a `.tlog-proof` for every PatchApplied event, and the public keys a
verifier needs for them (the console's note verifier keys and the witnesses')."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError

from audit.checkpoints import console_log_verifiers
from audit.models import Checkpoint
from audit.transparency import TransparencyError, checkpoint_latest, event_tlog_proof, served_note
from audit.witnesses import (
    WitnessRefused,
    WitnessUnavailable,
    checkpoint_witness_submit,
    configured_witnesses,
)
from patches.models import Event

logger = logging.getLogger(__name__)


def _cosign_latest() -> None:
    """Ask each witness with a URL for its cosignature of the latest checkpoint, if it is not
    stored yet, so the bundle's last checkpoint carries them (the verifier may require k)."""
    try:
        latest = checkpoint_latest()
    except TransparencyError:
        return
    have = {c.witness for c in latest.cosignatures.all()}
    for witness in configured_witnesses():
        if not witness.url or witness.name in have:
            continue
        try:
            checkpoint_witness_submit(checkpoint=latest, witness=witness)
        except (WitnessRefused, WitnessUnavailable, IntegrityError) as exc:
            logger.warning("export: witness %s did not cosign: %s", witness.name, exc)


def write_transparency(directory: Path) -> None:
    _cosign_latest()
    notes = directory / "checkpoints"
    notes.mkdir()
    checkpoints = Checkpoint.objects.exclude(note="").prefetch_related("cosignatures")
    latest = 0
    for checkpoint in checkpoints.order_by("seq"):
        (notes / f"{checkpoint.seq}.note").write_text(served_note(checkpoint))
        latest = checkpoint.seq
    proofs = directory / "proofs"
    proofs.mkdir()
    applied = Event.objects.filter(kind="PatchApplied", seq__lte=latest).order_by("seq")
    for seq in applied.values_list("seq", flat=True):
        (proofs / f"{seq}.tlog-proof").write_text(event_tlog_proof(seq=seq, size=latest))
    (directory / "tlog-keys.json").write_text(
        json.dumps(
            {
                "origin": settings.LOG_ORIGIN,
                "console": [v.vkey for v in console_log_verifiers()],
                "witnesses": [w.verifier.vkey for w in configured_witnesses()],
            },
            sort_keys=True,
        )
        + "\n"
    )
