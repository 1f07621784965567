"""What the reviewer digest has read of the log, and which proposals each reviewer is told of."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LogCursor(models.Model):
    """How far a log-driven job of the console has read (reviewer notifications)."""

    name = models.CharField(max_length=40, unique=True)
    seq = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.name} at {self.seq}"


class ReviewNotice(models.Model):
    """A proposal a reviewer is to be told about; sent_at is set when the digest naming it goes."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_notices"
    )
    proposal = models.ForeignKey("patches.Proposal", on_delete=models.CASCADE, related_name="+")
    queued_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # The digest run that claimed it, and when: a failed send gives it back, and a claim
    # whose worker died is taken again after a while.
    batch = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "proposal"], name="review_notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ← proposal {self.proposal_id}"
