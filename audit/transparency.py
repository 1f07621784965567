"""Reading the transparency log: the served checkpoint, an event's tlog-proof, consistency.

Selectors for the API (console/api/log.py), the export and the log page. Only checkpoints
signed as C2SP notes count here; those from before that format verify as chain statements
(audit.verify) but have no tree root to prove against.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max, Prefetch, QuerySet

from audit.models import Checkpoint, Cosignature
from audit.tree import consistency_proof, inclusion_proof
from audit.witnesses import configured_witnesses
from patches.client.tlog import tlog_proof_text


class TransparencyError(Exception):
    """The checkpoint or proof asked for does not exist (the API answers 404)."""


def _noted() -> QuerySet[Checkpoint]:
    return Checkpoint.objects.exclude(note="").prefetch_related(
        Prefetch("cosignatures", queryset=Cosignature.objects.order_by("witness"))
    )


def served_note(checkpoint: Checkpoint) -> str:
    """The checkpoint's signed note with every stored witness cosignature appended."""
    return checkpoint.note + "".join(c.line for c in checkpoint.cosignatures.all())


def checkpoint_latest() -> Checkpoint:
    checkpoint = _noted().order_by("-seq").first()
    if checkpoint is None:
        raise TransparencyError("no checkpoint has been signed yet")
    return checkpoint


def checkpoint_of_size(size: int) -> Checkpoint:
    checkpoint = _noted().filter(seq=size).first()
    if checkpoint is None:
        raise TransparencyError(f"no checkpoint is signed at size {size}")
    return checkpoint


def event_tlog_proof(*, seq: int, size: int | None = None) -> str:
    """The C2SP tlog-proof of event `seq` (leaf seq-1) in the checkpoint of `size` (default:
    the latest). The caller has checked the event exists and may be seen."""
    # Values in one query (the note, joined with its cosignature lines), not model rows and a
    # prefetch: this is the hot path of the proof API, and the ORM's work was most of its time.
    if size is None:
        latest = Checkpoint.objects.exclude(note="").order_by("-seq").values_list("seq")[:1]
        wanted = Checkpoint.objects.filter(seq__in=latest)
    else:
        wanted = Checkpoint.objects.exclude(note="").filter(seq=size)
    rows = list(
        wanted.order_by("cosignatures__witness").values_list("seq", "note", "cosignatures__line")
    )
    if not rows:
        raise TransparencyError(
            "no checkpoint has been signed yet"
            if size is None
            else f"no checkpoint is signed at size {size}"
        )
    tree_size, note = rows[0][0], rows[0][1]
    if seq > tree_size:
        if size is None:
            raise TransparencyError(
                f"event {seq} is not under a signed checkpoint yet (the latest is of size "
                f"{tree_size}); one is signed soon, ask again then"
            )
        raise TransparencyError(
            f"event {seq} is not in the tree of size {size}: ask for a size of at least {seq}"
        )
    note += "".join(line for _seq, _note, line in rows if line)
    return tlog_proof_text(seq - 1, inclusion_proof(seq - 1, tree_size), note)


def log_consistency(*, size1: int, size2: int) -> list[bytes]:
    """The RFC 9162 consistency proof between two signed checkpoint sizes."""
    if size1 > size2:
        raise TransparencyError(f"from ({size1}) must not exceed to ({size2})")
    checkpoint_of_size(size1)
    checkpoint_of_size(size2)
    return consistency_proof(size1, size2)


@dataclass(frozen=True)
class WitnessView:
    name: str
    vkey: str
    url: str
    cosigned_size: int


def witnesses_overview() -> list[WitnessView]:
    """Every configured witness with the largest checkpoint size it has cosigned (one query)."""
    witnesses = configured_witnesses()
    sizes = dict(
        Cosignature.objects.filter(witness__in=[w.name for w in witnesses])
        .values("witness")
        .annotate(size=Max("checkpoint__seq"))
        .values_list("witness", "size")
    )
    return [
        WitnessView(
            name=w.name, vkey=w.verifier.vkey, url=w.url, cosigned_size=sizes.get(w.name, 0)
        )
        for w in witnesses
    ]


def recent_noted_checkpoints(limit: int = 10) -> list[Checkpoint]:
    """The latest checkpoints signed as notes, newest first, with their cosignatures (2 queries)."""
    return list(_noted().order_by("-seq")[:limit])
