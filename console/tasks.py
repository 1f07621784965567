"""Celery tasks of the console: the worker heartbeat behind /healthz."""

from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone

from console.models import WorkerHeartbeat


@shared_task(name="console.heartbeat", ignore_result=True)
def heartbeat() -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker=socket.gethostname(), defaults={"seen_at": timezone.now()}
    )


# The outbound interfaces' periodic tasks, registered with the worker through this module.
from console.notifications.tasks import notify_reviewers  # noqa: E402
from console.webhooks.tasks import deliver_webhooks  # noqa: E402

__all__ = ["deliver_webhooks", "heartbeat", "notify_reviewers"]
