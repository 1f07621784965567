"""The proposal domain: targets and versions, agents and keys, proposals, test gate runs, and
the append-only event log that every transition writes."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

# Labels and fleet reports live in their own module; importing them here registers them.
from patches.label_models import Label as Label
from patches.label_models import Observation as Observation
from patches.label_models import default_on_apply
from patches.patch_types import PATCH_TYPE_NAMES, patch_type_spec

# The choices come from the registry (PatchType.PROMPT == "Prompt", …), so a new type is added
# there alone; adding one changes these choices and so needs a migration. django-stubs types
# only the class form of TextChoices, hence the ignore on Enum's functional form.
PatchType = models.TextChoices(  # type: ignore[call-overload]
    "PatchType", [(name.upper(), name) for name in PATCH_TYPE_NAMES]
)


class Target(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    patch_type = models.CharField(max_length=10, choices=PatchType.choices)
    description = models.TextField(blank=True)
    # An extra JSON Schema the content must satisfy on top of its type's shape (JSON targets).
    schema = models.JSONField(null=True, blank=True)
    audit_rules = models.JSONField(default=dict, blank=True)
    required_approvals = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)]
    )
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="owned_targets"
    )
    mandatory_tests: models.ManyToManyField[TestDefinition, Any] = models.ManyToManyField(
        "TestDefinition", blank=True, related_name="mandatory_for"
    )
    # What an agent may name in test_requirements besides the mandatory tests: agents choose
    # among these only, so an admin's test (a command above all) runs only where offered.
    offered_tests: models.ManyToManyField[TestDefinition, Any] = models.ManyToManyField(
        "TestDefinition",
        blank=True,
        related_name="offered_for",
        help_text="Tests agents may ask for on this target, besides the mandatory ones.",
    )
    # The current version number; changed only by the apply service under a row lock.
    version = models.PositiveIntegerField(default=1)
    # The labels an apply moves to the new version (patches.labels); any other move is reviewed.
    on_apply = models.JSONField(
        default=default_on_apply,
        blank=True,
        help_text='Labels an applied patch moves to the new version, e.g. ["production"].',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def content_kind(self) -> str:
        return patch_type_spec(self.patch_type).content_kind


class TargetVersion(models.Model):
    """One immutable state of a target; content is text, or canonical JSON text for JSON targets."""

    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    content = models.TextField()
    content_hash = models.CharField(max_length=71)
    proposal = models.OneToOneField(
        "Proposal", null=True, blank=True, on_delete=models.PROTECT, related_name="produced_version"
    )
    # Applying inverse_patch to this version's content gives the previous version's bytes.
    inverse_patch = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["target", "version"]
        constraints = [
            models.UniqueConstraint(fields=["target", "version"], name="unique_target_version")
        ]

    def __str__(self) -> str:
        return f"{self.target.name} v{self.version}"

    @property
    def value(self) -> Any:
        """The content as a Python value: str for text targets, parsed JSON otherwise."""
        if self.target.content_kind == "text":
            return self.content
        return json.loads(self.content)


class AgentScope(models.TextChoices):
    """What an agent's API tokens may do beyond its own proposals, targets and keys."""

    LOG_READ = "log:read", "log:read (auditor: reads every event)"


class Agent(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    # AgentScope values held by every token of the agent; kept on the agent so that a token
    # rotation keeps them.
    scopes = models.JSONField(default=list, blank=True)
    # The console's own agent signs reverts on a reviewer's behalf; it has no API token.
    is_console = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return isinstance(self.scopes, list) and scope in self.scopes


class AgentKey(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="keys")
    key_id = models.CharField(max_length=64, unique=True)  # hex sha256 of the raw public key
    public_key = models.CharField(max_length=64)  # hex of the raw 32-byte Ed25519 key
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agent", "created_at"]

    def __str__(self) -> str:
        return f"{self.agent.name}:{self.key_id[:12]}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class AgentToken(models.Model):
    """An API bearer token, stored as its SHA-256 (tokens are random, so no slow hash is needed)."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)  # shown in the UI to tell tokens apart
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.agent.name}:{self.prefix}…"


class ProposalStatus(models.TextChoices):
    TESTING = "testing"
    IN_REVIEW = "in_review"
    APPLIED = "applied"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    # Revisions (docs/revisions.md): a reviewer asked for a revision, the target moved past
    # the base, or a revision replaced the proposal.
    CHANGES_REQUESTED = "changes_requested"
    STALE = "stale"
    SUPERSEDED = "superseded"


OPEN_STATUSES = (
    ProposalStatus.TESTING,
    ProposalStatus.IN_REVIEW,
    ProposalStatus.CHANGES_REQUESTED,
    ProposalStatus.STALE,
)


class RejectionStage(models.TextChoices):
    TEST_GATE = "test_gate"
    AUDIT_GATE = "audit_gate"
    APPLY = "apply"


class Proposal(models.Model):
    """A signed proposal. The envelope and the fields parsed from it never change after insert."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="proposals")
    # Set when a person asked the console to propose (a revert): they may not review it.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="submitted_proposals",
    )
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="proposals")
    envelope = models.TextField()  # the request body exactly as received
    patch_hash = models.CharField(max_length=71, unique=True)
    nonce = models.CharField(max_length=128, unique=True)
    patch_type = models.CharField(max_length=10, choices=PatchType.choices)
    base_version = models.PositiveIntegerField()
    base_content_hash = models.CharField(max_length=71)
    patch = models.TextField()
    reasoning = models.TextField()
    test_requirements = models.JSONField(default=list)
    reverts = models.ForeignKey(
        TargetVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="reverted_by"
    )
    # The proposal this revision replaces (the signed `revises`), the first proposal of its
    # chain (`change`; itself for a first proposal) and its 1-based place in the chain.
    revises = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="revised_by"
    )
    change = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="chain"
    )
    revision = models.PositiveIntegerField(default=1)

    status = models.CharField(
        max_length=17, choices=ProposalStatus.choices, default=ProposalStatus.TESTING
    )
    stage = models.CharField(max_length=10, choices=RejectionStage.choices, blank=True)
    reason = models.TextField(blank=True)
    # Approvals needed: the target's required_approvals plus one per "raise" audit finding.
    approvals_required = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["target", "status"]),
            models.Index(fields=["agent", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.target.name} {self.patch_hash[:19]}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Signature(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="signatures")
    key = models.ForeignKey(AgentKey, on_delete=models.PROTECT, related_name="signatures")
    algorithm = models.CharField(max_length=16, default="ed25519")
    value = models.TextField()  # base64, exactly as received
    verified_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.algorithm} by {self.key.key_id[:12]} on #{self.proposal_id}"


class TestKind(models.TextChoices):
    TEXT_CONTAINS = "text_contains"
    TEXT_NOT_CONTAINS = "text_not_contains"
    TEXT_REGEX = "text_regex"
    MAX_LENGTH = "max_length"
    PLACEHOLDERS = "placeholders"
    JSON_SCHEMA = "json_schema"
    ROUTING_CASES = "routing_cases"
    POLICY_CASES = "policy_cases"
    TOOL_SET = "tool_set"
    COMMAND = "command"


class TestDefinition(models.Model):
    """A behavioural test as data. Agents may name tests; only admins define them."""

    __test__ = False  # not a pytest class

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=TestKind.choices)
    params = models.JSONField(default=dict)
    description = models.TextField(blank=True)
    # Patch types this test can run on; empty means any.
    patch_types = models.JSONField(default=list, blank=True)
    timeout_s = models.PositiveIntegerField(default=30)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GateStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"


class TestRun(models.Model):
    """The one test-gate run of a proposal, for its exact patch_hash."""

    __test__ = False

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="test_run")
    patch_hash = models.CharField(max_length=71)
    status = models.CharField(max_length=10, choices=GateStatus.choices, default=GateStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker running the gate holds it until lease_until (its current test's timeout plus a
    # grace); after that another worker may take over, so a killed worker cannot block a gate.
    claimed_by = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"gate of #{self.proposal_id}: {self.status}"


class TestOutcome(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


class TestResult(models.Model):
    __test__ = False

    run = models.ForeignKey(TestRun, on_delete=models.PROTECT, related_name="results")
    test = models.ForeignKey(TestDefinition, on_delete=models.PROTECT, related_name="results")
    name = models.CharField(max_length=100)  # the test's name when it ran
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=TestOutcome.choices, default=TestOutcome.PENDING
    )
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    output = models.TextField(blank=True)  # bounded by the runner
    # For case-based kinds: [{"case": ..., "before": outcome, "after": outcome, "expect": ...}]
    cases = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "test"], name="unique_run_test")]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


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
    # Hex HMAC of `hash` under a key derived from the console key (patches.chain.event_mac):
    # proof that the console wrote this event. Empty for events written before MACs existed.
    mac = models.CharField(max_length=64, blank=True, default="")
    # An index for "events of this proposal"; not covered by the hash, derived at write time.
    proposal = models.ForeignKey(
        "Proposal",
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
