"""Response shapes of the agent API (the request envelope's schema is in submit_schema)."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


class Submitted(Schema):
    id: int
    patch_hash: str
    status: str
    url: str
    change: int


class TestOut(Schema):
    name: str
    status: str
    duration_ms: int | None
    output: str


class CommentOut(Schema):
    anchor: dict[str, Any] = Field(description='{"side": "old"|"new", "line": N} or {"pointer"}')
    body: str


class ReviewOut(Schema):
    reviewer: str
    decision: str
    reason: str
    created_at: str
    carried_from: str | None = Field(
        description="for a carried approval, the patch_hash of the revision it was given for"
    )
    comments: list[CommentOut]


class RevisionOut(Schema):
    id: int
    patch_hash: str
    status: str


class StaleOut(Schema):
    current_version: int
    rebase: str = Field(description='"clean" or "conflict"')


class RebaseOut(Schema):
    base_version: int
    patch: str
    same_change: bool


class ProposalOut(Schema):
    id: int
    patch_hash: str
    status: str
    stage: str
    reason: str
    target: str
    patch_type: str
    base_version: int
    applied_version: int | None
    change: int
    revision: int
    revisions: list[RevisionOut]
    tests: list[TestOut]
    reviews: list[ReviewOut]
    stale: StaleOut | None


class ProposalSummary(Schema):
    id: int
    patch_hash: str
    status: str
    stage: str
    target: str
    base_version: int
    url: str


class TargetSummary(Schema):
    name: str
    patch_type: str
    version: int
    content_hash: str
    labels: dict[str, int] = Field(
        description="label name → the version it points to (a rollout's to_version)"
    )


class TargetOut(Schema):
    name: str
    patch_type: str
    version: int
    content: Any = Field(description="a string for Prompt targets, the JSON value for the others")
    content_hash: str


class Rollout(Schema):
    from_version: int
    to_version: int
    percent: int
    bucket: int = Field(description="this instance's bucket: it gets to_version when below percent")


class TargetLabelledOut(TargetOut):
    label: str
    rollout: Rollout | None


class ObservedIn(Schema):
    instance: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")
    content_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    label: str = Field(
        default="production",
        max_length=50,
        pattern=r"^[-a-zA-Z0-9_]+$",
        description="the label this instance reads (an extension of the contract's body)",
    )


class EventOut(Schema):
    seq: int
    kind: str
    actor: str
    payload: Any
    created_at: str
    prev_hash: str
    hash: str


class Ping(Schema):
    ok: bool
