"""Labels (named pointers of a target to a version, maybe in a staged rollout) and the fleet's
`observed` reports. Imported by patches.models, so Django registers them in the patches app."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from patches.rollout import FULL, LabelState

PRODUCTION = "production"


def default_on_apply() -> list[str]:
    """A target's on_apply default: an apply goes live for the production label, as before."""
    return [PRODUCTION]


class Label(models.Model):
    """A target's named pointer; changed only by patches.labels (apply or a reviewed move)."""

    target = models.ForeignKey("patches.Target", on_delete=models.PROTECT, related_name="labels")
    name = models.SlugField(max_length=50)
    # Approvals a move of this label needs; None: the target's required_approvals; 0: at once.
    approvals = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Approvals a move needs; empty: the target's required approvals; 0: immediate.",
    )
    version = models.PositiveIntegerField()  # during a rollout: its to_version
    from_version = models.PositiveIntegerField(null=True, blank=True)
    percent = models.PositiveSmallIntegerField(
        default=FULL, validators=[MinValueValidator(1), MaxValueValidator(FULL)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    moved_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["target", "name"]
        constraints = [
            models.UniqueConstraint(fields=["target", "name"], name="unique_target_label")
        ]

    def __str__(self) -> str:
        return f"{self.target.name}@{self.name}"

    @property
    def state(self) -> LabelState:
        return LabelState(
            version=self.version,
            from_version=self.from_version if self.percent < FULL else None,
            percent=self.percent,
        )

    def quorum(self) -> int:
        return self.target.required_approvals if self.approvals is None else self.approvals


class Observation(models.Model):
    """What one agent instance last said it runs: telemetry, not in the log, latest wins."""

    agent = models.ForeignKey(
        "patches.Agent", on_delete=models.PROTECT, related_name="observations"
    )
    target = models.ForeignKey(
        "patches.Target", on_delete=models.PROTECT, related_name="observations"
    )
    instance = models.CharField(max_length=200)
    label = models.CharField(max_length=50, default=PRODUCTION)
    content_hash = models.CharField(max_length=71)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["target", "instance"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "target", "instance"], name="one_observation_per_instance"
            )
        ]

    def __str__(self) -> str:
        return f"{self.target_id}/{self.instance}: {self.content_hash[:19]}"
