"""The lifecycle rules of revisions, from events alone: supersession, carried approvals, change
requests and stale proposals (docs/revisions.md)."""

from __future__ import annotations

from typing import Any

import pytest

from audit.lifecycle_rules import LifecycleBroken, LifecycleChecker

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
T0, T1 = "2026-12-01T10:00:00.000000Z", "2026-12-01T11:00:00.000000Z"


def _review(reviewer: str, patch_hash: str, decision: str = "approve") -> tuple[Any, ...]:
    payload = {"patch_hash": patch_hash, "reviewer": reviewer, "decision": decision}
    return ("ReviewRecorded", f"user:{reviewer}", payload, T1)


def _gated(patch_hash: str) -> list[tuple[Any, ...]]:
    return [
        ("PatchProposed", "agent:bot", {"patch_hash": patch_hash}, T1),
        ("TestGatePassed", "system:test_gate", {"patch_hash": patch_hash}, T1),
        (
            "AuditChecked",
            "system:audit_gate",
            {"patch_hash": patch_hash, "approvals_required": 1},
            T1,
        ),
    ]


def _start() -> list[tuple[Any, ...]]:
    return [
        ("ReviewerCreated", "system:console", {"username": "rita", "roles": ["reviewer"]}, T0),
        ("ReviewerCreated", "system:console", {"username": "rob", "roles": ["reviewer"]}, T0),
        ("ReviewerCreated", "system:console", {"username": "ada", "roles": ["admin"]}, T0),
        *_gated(A),
    ]


SUPERSEDE = ("PatchSuperseded", "agent:bot", {"patch_hash": A, "by": B}, T1)
CARRY = (
    "ReviewCarriedOver",
    "system:audit_gate",
    {"patch_hash": B, "from_patch_hash": A, "reviewers": ["rob"], "rule": "same_hunks"},
    T1,
)
APPLY_B = ("PatchApplied", "system:audit_gate", {"patch_hash": B}, T1)


def _feed(events: list[tuple[Any, ...]]) -> LifecycleChecker:
    checker = LifecycleChecker()
    for seq, (kind, actor, payload, created_at) in enumerate(events, start=1):
        checker.feed(seq, kind, actor, payload, created_at)
    return checker


def test_a_carried_approval_applies_a_revision():
    events = [
        *_start(),
        _review("rob", A),
        *_gated(B)[:1],
        SUPERSEDE,
        *_gated(B)[1:],
        CARRY,
        APPLY_B,
    ]
    assert _feed(events).applied == 1


@pytest.mark.parametrize(
    ("events", "problem"),
    [
        (
            [*_start(), *_gated(B)[:1], *_gated(B)[1:], CARRY, APPLY_B],
            "which sha256:bbbb",
        ),
        (
            [*_start(), *_gated(B)[:1], SUPERSEDE, *_gated(B)[1:], CARRY, APPLY_B],
            "that rob never gave",
        ),
        (
            [*_start(), _review("rob", A), *_gated(B)[:1], SUPERSEDE, _review("rita", A),
             ("PatchApplied", "user:rita", {"patch_hash": A}, T1)],
            "which a revision superseded",
        ),
        (
            [*_start(), _review("rita", A, "request_changes"), _review("rob", A),
             ("PatchApplied", "user:rob", {"patch_hash": A}, T1)],
            "while rita asked for changes",
        ),
        (
            [*_start(), ("PatchStale", "user:rita", {"patch_hash": A}, T1)],
            "not system:apply",
        ),
        (
            [*_start(), ("ChangeRequestWithdrawn", "user:rob", {"patch_hash": A, "reviewer": "rita"}, T1)],
            "who is not an admin",
        ),
    ],
)  # fmt: skip
def test_a_log_that_breaks_a_revision_rule_is_refused(events, problem):
    with pytest.raises(LifecycleBroken, match=problem):
        _feed(events)


def test_a_request_is_lifted_by_its_reviewers_approval_of_a_later_revision_or_an_admin():
    later = [
        *_start(), _review("rita", A, "request_changes"), *_gated(B)[:1], SUPERSEDE,
        *_gated(B)[1:], _review("rita", B), APPLY_B,
    ]  # fmt: skip
    assert _feed(later).applied == 1
    withdrawn = [
        *_start(), _review("rita", A, "request_changes"),
        ("ChangeRequestWithdrawn", "user:ada", {"patch_hash": A, "reviewer": "rita"}, T1),
        _review("rob", A), ("PatchApplied", "user:rob", {"patch_hash": A}, T1),
    ]  # fmt: skip
    assert _feed(withdrawn).applied == 1
