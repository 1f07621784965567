"""Celery tasks of the audit layer: the gates (audit.gates) and the periodic signed checkpoint."""

from __future__ import annotations

import logging

from celery import shared_task

from audit.gates import run_gates, sweep_gates

__all__ = ["checkpoint_sign_periodic", "run_gates", "sweep_gates"]

logger = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint_sign", ignore_result=True)
def checkpoint_sign_periodic() -> None:
    from audit.checkpoints import CheckpointError, checkpoint_sign

    try:
        checkpoint = checkpoint_sign(actor="system:console")
    except CheckpointError as exc:
        # A broken chain must be seen by people, not retried silently.
        logger.error("checkpoint refused: %s", exc)
        return
    logger.info("checkpoint signed at seq %s", checkpoint.seq)
