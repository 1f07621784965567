"""The Celery app: JSON only, late acks and time limits so a killed worker loses no gate."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

from django.conf import settings

app = Celery("console")


def _transport_options() -> dict[str, object]:
    if not settings.CELERY_BROKER_URL.startswith("filesystem"):
        return {"visibility_timeout": settings.GATE_TIME_LIMIT_S * 4}
    queue = settings.BROKER_DIR / "queue"
    processed = settings.BROKER_DIR / "processed"
    control = settings.BROKER_DIR / "control"  # kombu's default is ./control in the cwd
    for folder in (queue, processed, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(processed),
        "control_folder": str(control),
        "store_processed": False,
    }


app.conf.update(
    broker_url=settings.CELERY_BROKER_URL,
    broker_transport_options=_transport_options(),
    broker_connection_retry_on_startup=True,
    task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER,
    task_eager_propagates=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    event_serializer="json",
    result_backend=None,
    task_ignore_result=True,
    # A gate is acknowledged only after it ran, and goes back to the queue if its worker dies.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_time_limit=settings.GATE_TIME_LIMIT_S,
    # The soft limit leaves a margin to record the failure before the hard kill.
    task_soft_time_limit=settings.GATE_TIME_LIMIT_S
    - max(1, min(10, settings.GATE_TIME_LIMIT_S // 5)),
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    timezone="UTC",
    beat_schedule={
        "worker-heartbeat": {
            "task": "console.heartbeat",
            "schedule": float(settings.WORKER_HEARTBEAT_S),
        },
        # Checkpoints pin the chain's head under the console's key; verify_log also skips
        # re-canonicalizing payloads below the last one (see audit.checkpoints). The task signs
        # when one is due: CHECKPOINT_INTERVAL_S after the last, or soon after a PatchApplied.
        "log-checkpoint": {
            "task": "audit.checkpoint_sign",
            "schedule": float(
                min(settings.CHECKPOINT_AFTER_APPLY_S, settings.CHECKPOINT_INTERVAL_S)
            ),
        },
        "gate-sweep": {
            "task": "audit.sweep_gates",
            "schedule": float(settings.GATE_SWEEP_INTERVAL_S),
        },
        # Webhooks follow the log (console.webhooks.delivery); digests batch reviewer e-mail.
        "webhooks-deliver": {
            "task": "console.webhooks_deliver",
            "schedule": float(settings.WEBHOOK_INTERVAL_S),
        },
        "notify-reviewers": {
            "task": "console.notify_reviewers",
            "schedule": float(min(60, settings.NOTIFY_DIGEST_S)),
        },
    },
)
app.autodiscover_tasks(["console", "patches", "audit"])
