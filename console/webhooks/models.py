"""Webhook subscriptions, their cursor in the log, and their recent delivery attempts."""

from __future__ import annotations

from django.db import models


class WebhookState(models.TextChoices):
    ACTIVE = "active"
    PAUSED = "paused"  # by an admin
    FAILING = "failing"  # retries ran out (24 h); paused until an admin resumes it


class WebhookSubscription(models.Model):
    """Receives the log's events that match it, in seq order, one at a time, at least once.

    `cursor` is the seq of the last event this subscription is done with (delivered, or not
    one it asked for): delivery always resumes right after it, so nothing is ever skipped.
    """

    url = models.URLField(max_length=2000)
    event_kinds = models.JSONField(help_text="event kinds delivered (a list)")
    target_names = models.JSONField(default=list, blank=True, help_text="empty: every target")
    # Empty: every event. Else only the events that agent may read over GET /api/v1/events.
    agent = models.ForeignKey(
        "patches.Agent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The whsec_ secret sealed under a key derived from the console key (console.webhooks.secrets):
    # the database alone does not give it away.
    sealed_secret = models.TextField(editable=False)
    cursor = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=WebhookState.choices, default="active")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # First failed attempt at the pending event, and how many failed in a row: the back-off.
    failing_since = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    # A worker's claim (console.webhooks.delivery): no two workers deliver one subscription at once.
    lease_token = models.CharField(max_length=32, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"webhook #{self.pk} → {self.url}"


class WebhookAttempt(models.Model):
    """One POST of one event; only the last few per subscription are kept (bounded)."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="attempts"
    )
    event_seq = models.BigIntegerField()
    webhook_id = models.CharField(max_length=71)
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["subscription", "-id"], name="webhook_attempt_recent")]

    def __str__(self) -> str:
        return f"#{self.event_seq} → {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
