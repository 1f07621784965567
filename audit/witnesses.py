"""Sending checkpoints to witnesses (C2SP tlog-witness) and keeping their cosignatures.

Each new checkpoint goes to every configured witness (settings.WITNESSES) after its transaction
commits, by a Celery task retried with back-off, so signing never waits on a witness. The
request carries a consistency proof from the size the witness last cosigned; a witness that
answers 409 tells that size, and the request is made once more from there. A witness that finds
the checkpoint inconsistent with what it cosigned (422, or 409 at an equal size) has caught the
log's history changing: that raises the log alarm.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db.models import Max

from audit.log_head import log_alarm_raise
from audit.models import Checkpoint, Cosignature
from audit.tree import consistency_proof
from patches.client.tlog import (
    ProofError,
    Verifier,
    b64,
    cosignature_time,
    parse_note,
    parse_signature_lines,
    parse_vkey,
    signature_verifies,
)

logger = logging.getLogger(__name__)

SIZE_MEDIA_TYPE = "text/x.tlog.size"
MAX_RESPONSE_BYTES = 64 * 1024
SEND_RETRIES = 8


class WitnessUnavailable(Exception):
    """The witness could not be reached or failed; try again later."""


class WitnessRefused(Exception):
    """The witness refused the checkpoint for a reason retrying will not change."""

    def __init__(self, message: str, *, inconsistent: bool = False) -> None:
        super().__init__(message)
        self.inconsistent = inconsistent


@dataclass(frozen=True)
class Witness:
    name: str
    verifier: Verifier
    url: str


def configured_witnesses() -> list[Witness]:
    return [
        Witness(name=w["name"], verifier=parse_vkey(w["vkey"]), url=w["url"])
        for w in settings.WITNESSES
    ]


def witness_verifiers() -> list[Verifier]:
    return [witness.verifier for witness in configured_witnesses()]


def cosigned_size(witness_name: str) -> int:
    """The largest checkpoint size this witness's cosignature is stored for (0: none)."""
    found = Cosignature.objects.filter(witness=witness_name).aggregate(size=Max("checkpoint__seq"))
    return found["size"] or 0


def _post(url: str, body: bytes) -> tuple[int, str, bytes]:
    request = urllib.request.Request(  # noqa: S310 (an admin-configured http(s) URL)
        f"{url}/add-checkpoint", data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.WITNESS_TIMEOUT_S) as response:  # noqa: S310
            return (
                response.status,
                response.headers.get_content_type(),
                response.read(MAX_RESPONSE_BYTES),
            )
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read(MAX_RESPONSE_BYTES)
    except (urllib.error.URLError, OSError) as exc:
        raise WitnessUnavailable(f"witness at {url}: {exc}") from exc


def _request_body(checkpoint: Checkpoint, old: int) -> bytes:
    proof = consistency_proof(old, checkpoint.seq) if 0 < old < checkpoint.seq else []
    lines = [f"old {old}", *(b64(p) for p in proof)]
    return ("\n".join(lines) + "\n\n" + checkpoint.note).encode()


def _cosignature(witness: Witness, checkpoint: Checkpoint, response: bytes) -> Cosignature:
    text = parse_note(checkpoint.note).text
    try:
        lines = response.decode("utf-8").split("\n")
        signatures = parse_signature_lines(line for line in lines if line)
    except (UnicodeDecodeError, ProofError) as exc:
        raise WitnessRefused(f"{witness.name} answered no cosignature: {exc}") from exc
    for signature in signatures:
        if (signature.name, signature.key_id) != (witness.name, witness.verifier.key_id):
            continue  # another key of the witness: ignored, as tlog-witness says
        if not signature_verifies(witness.verifier, text, signature):
            raise WitnessRefused(f"{witness.name} returned a cosignature that does not verify")
        cosignature, _created = Cosignature.objects.get_or_create(
            checkpoint=checkpoint,
            witness=witness.name,
            defaults={"timestamp": cosignature_time(signature), "line": signature.line},
        )
        return cosignature
    raise WitnessRefused(f"{witness.name} returned no cosignature by its configured key")


def checkpoint_witness_submit(*, checkpoint: Checkpoint, witness: Witness) -> Cosignature:
    """Ask one witness to cosign a checkpoint (signed note format); returns its cosignature."""
    if not checkpoint.note:
        raise WitnessRefused(f"checkpoint {checkpoint.seq} predates signed notes")
    old = min(cosigned_size(witness.name), checkpoint.seq)
    for _attempt in range(2):
        status, media_type, body = _post(witness.url, _request_body(checkpoint, old))
        if status == 200:
            return _cosignature(witness, checkpoint, body)
        if status == 409 and media_type == SIZE_MEDIA_TYPE:
            try:
                size = int(body.decode("ascii").strip())
            except ValueError as exc:
                raise WitnessUnavailable(f"{witness.name}: a 409 without a size") from exc
            if size == old:
                raise WitnessRefused(
                    f"{witness.name} cosigned a different root at size {size}: the log's "
                    "history is not the one it saw",
                    inconsistent=True,
                )
            if size > checkpoint.seq:
                raise WitnessRefused(
                    f"{witness.name} has cosigned size {size}, beyond checkpoint {checkpoint.seq}"
                )
            old = size
            continue
        if status == 422:
            raise WitnessRefused(
                f"{witness.name} refused checkpoint {checkpoint.seq}: it is not consistent with "
                f"size {old}, which the witness cosigned",
                inconsistent=True,
            )
        if status >= 500 or status == 429:
            raise WitnessUnavailable(f"{witness.name} answered {status}")
        raise WitnessRefused(
            f"{witness.name} answered {status}: {body[:200].decode('utf-8', 'replace')}"
        )
    raise WitnessUnavailable(f"{witness.name} kept changing its cosigned size")


def witnesses_publish(checkpoint_id: int) -> None:
    """Queue the checkpoint for every witness with a URL; a broker outage only logs."""
    for witness in configured_witnesses():
        if not witness.url:
            continue
        try:
            witness_send.delay(checkpoint_id, witness.name)
        except Exception:
            logger.warning(
                "could not send checkpoint %s to witness %s",
                checkpoint_id,
                witness.name,
                exc_info=True,
            )


@shared_task(name="audit.witness_send", bind=True, ignore_result=True, max_retries=SEND_RETRIES)
def witness_send(self: Any, checkpoint_id: int, witness_name: str) -> None:
    witness = next((w for w in configured_witnesses() if w.name == witness_name), None)
    checkpoint = Checkpoint.objects.filter(pk=checkpoint_id).first()
    if witness is None or checkpoint is None:
        return
    try:
        cosignature = checkpoint_witness_submit(checkpoint=checkpoint, witness=witness)
    except WitnessUnavailable as exc:
        logger.warning("witness %s: %s; retrying", witness_name, exc)
        raise self.retry(countdown=min(600, 5 * 2**self.request.retries)) from exc
    except WitnessRefused as exc:
        if exc.inconsistent:
            log_alarm_raise(f"witness {witness_name} refused checkpoint {checkpoint.seq}: {exc}")
        else:
            logger.error("witness %s refused checkpoint %s: %s", witness_name, checkpoint.seq, exc)
        return
    logger.info("witness %s cosigned checkpoint %s", witness_name, cosignature.checkpoint.seq)
