"""The audit layer's tables: the log's signed checkpoints, audit findings and reviews."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from patches.models import Label, Proposal


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
    REQUEST_CHANGES = "request_changes"


class Review(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(max_length=15, choices=Decision.choices)
    reason = models.TextField()
    # What the reviewer was shown: an approval counts only for this exact patch and base.
    patch_hash = models.CharField(max_length=71)
    base_content_hash = models.CharField(max_length=71)
    # A carried approval (audit.revisions): the patch_hash of the revision it was given for,
    # and the rule of the contract that carried it.
    carried_from = models.CharField(max_length=71, blank=True)
    carried_rule = models.CharField(max_length=20, blank=True)
    # A request_changes an admin withdrew: it no longer blocks the change (audit.revisions).
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="withdrawn_requests",
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "reviewer"], name="one_review_per_person"),
            models.CheckConstraint(condition=~models.Q(reason=""), name="review_reason_required"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {self.reviewer_id} on #{self.proposal_id}"


class ReviewComment(models.Model):
    """A comment of a review, anchored in the diff: {side, line} (text) or {pointer} (JSON)."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="comments")
    anchor = models.JSONField()
    body = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["review", "position"]

    def __str__(self) -> str:
        return f"comment {self.position} of review {self.review_id}"


class LabelMoveStatus(models.TextChoices):
    WAITING = "waiting"
    MOVED = "moved"


class LabelMoveRequest(models.Model):
    """A reviewed label move (promotion, rollback, rollout step), waiting for its quorum."""

    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="move_requests")
    to_version = models.PositiveIntegerField()
    percent = models.PositiveSmallIntegerField(default=100)
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="label_move_requests"
    )
    approvals_required = models.PositiveSmallIntegerField()
    # The label's state the requester saw: approvals count only while the label still has it.
    base_version = models.PositiveIntegerField()
    base_from_version = models.PositiveIntegerField(null=True, blank=True)
    base_percent = models.PositiveSmallIntegerField(default=100)
    status = models.CharField(
        max_length=7, choices=LabelMoveStatus.choices, default=LabelMoveStatus.WAITING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["label", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="label_move_reason_required"
            )
        ]

    def __str__(self) -> str:
        return f"move {self.label_id} to v{self.to_version} ({self.status})"


class LabelMoveApproval(models.Model):
    request = models.ForeignKey(
        LabelMoveRequest, on_delete=models.PROTECT, related_name="approvals"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="label_move_approvals"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "reviewer"], name="one_label_approval_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"approval by {self.reviewer_id} of move {self.request_id}"
