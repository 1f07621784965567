"""Celery tasks of the audit layer: the gates (audit.gates) and the periodic signed checkpoint."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from audit.gates import run_gates, sweep_gates
from audit.witnesses import witness_send

__all__ = ["checkpoint_sign_periodic", "run_gates", "sweep_gates", "witness_send"]

logger = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint_sign", ignore_result=True)
def checkpoint_sign_periodic() -> None:
    from audit.checkpoints import CheckpointError, checkpoint_due, checkpoint_sign

    # The beat polls every CHECKPOINT_AFTER_APPLY_S; most polls find nothing to sign.
    if not checkpoint_due(now=timezone.now()):
        return
    try:
        checkpoint = checkpoint_sign(actor="system:console")
    except CheckpointError as exc:
        # A broken chain must be seen by people, not retried silently.
        logger.error("checkpoint refused: %s", exc)
        return
    logger.info("checkpoint signed at seq %s", checkpoint.seq)
