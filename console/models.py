"""Operational state of the console itself (not domain history): worker heartbeats."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """Written by a periodic task, so a fresh row proves broker and worker both work."""

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


# Models of the console's outbound interfaces live beside their code; imported here so Django
# registers them with the console app.
from console.notifications.models import LogCursor, ReviewNotice  # noqa: E402
from console.webhooks.models import WebhookAttempt, WebhookState, WebhookSubscription  # noqa: E402

__all__ = [
    "LogCursor",
    "ReviewNotice",
    "WebhookAttempt",
    "WebhookState",
    "WebhookSubscription",
    "WorkerHeartbeat",
]
