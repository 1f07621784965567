"""The audit layer's tables: the append-only event log, its checkpoints, findings and reviews."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models

from patches.models import Proposal


class Event(models.Model):
    """One link of the hash chain. Rows are never updated or deleted (database triggers)."""

    seq = models.BigIntegerField(primary_key=True)
    kind = models.CharField(max_length=40, db_index=True)
    actor = models.CharField(max_length=200)
    # Canonical JSON (RFC 8785) text: the exact payload bytes the hash covers.
    payload = models.TextField()
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=71)
    hash = models.CharField(max_length=71, unique=True)
    # An index for "events of this proposal"; not covered by the hash, derived at write time.
    proposal = models.ForeignKey(
        Proposal,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_constraint=False,
    )

    class Meta:
        db_table = "audit_event"
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"

    @property
    def payload_value(self) -> Any:
        return json.loads(self.payload)


class Checkpoint(models.Model):
    """A signed statement by the console's key that the chain had this head at this seq."""

    seq = models.BigIntegerField(unique=True)
    head = models.CharField(max_length=71)
    key_id = models.CharField(max_length=64)
    signature = models.TextField()  # base64 Ed25519 over canonical({"seq", "head"})
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint at #{self.seq}"


class Severity(models.TextChoices):
    INFO = "info"
    RAISE = "raise"
    BLOCK = "block"


class Finding(models.Model):
    """An automated audit check's result on a proposal."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="findings")
    check_name = models.CharField(max_length=50)
    severity = models.CharField(max_length=5, choices=Severity.choices)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "id"]

    def __str__(self) -> str:
        return f"{self.severity}: {self.check_name}"


class Decision(models.TextChoices):
    APPROVE = "approve"
    REJECT = "reject"


class Review(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(max_length=7, choices=Decision.choices)
    reason = models.TextField()
    # What the reviewer was shown: an approval counts only for this exact patch and base.
    patch_hash = models.CharField(max_length=71)
    base_content_hash = models.CharField(max_length=71)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "reviewer"], name="one_review_per_person"),
            models.CheckConstraint(condition=~models.Q(reason=""), name="review_reason_required"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {self.reviewer_id} on #{self.proposal_id}"
