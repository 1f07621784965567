"""The lifecycle rules every log the console writes obeys, checked from events alone."""

from __future__ import annotations

import pytest

from audit.lifecycle_rules import Account, LifecycleBroken, LifecycleChecker
from tests.standalone import frameworks_loaded_by

PH = "sha256:" + "ab" * 32
T0, T1, T2 = (
    "2026-12-01T10:00:00.000000Z",
    "2026-12-01T11:00:00.000000Z",
    "2026-12-01T12:00:00.000000Z",
)


def _events(*, tested: bool = True, audited: bool = True, approvers: tuple[str, ...] = ("rita",)):
    events = [
        ("ReviewerCreated", "system:console", {"username": "rita", "roles": ["reviewer"]}, T0),
        ("ReviewerCreated", "system:console", {"username": "sam", "roles": ["reviewer"]}, T0),
        ("PatchProposed", "agent:bot", {"patch_hash": PH}, T1),
    ]
    if tested:
        events.append(("TestGatePassed", "system:test_gate", {"patch_hash": PH}, T1))
    if audited:
        events.append(
            ("AuditChecked", "system:audit_gate", {"patch_hash": PH, "approvals_required": 2}, T1)
        )
    for name in approvers:
        events.append(
            (
                "ReviewRecorded",
                f"user:{name}",
                {"patch_hash": PH, "reviewer": name, "decision": "approve"},
                T2,
            )
        )
    events.append(("PatchApplied", f"user:{approvers[-1]}", {"patch_hash": PH}, T2))
    return events


def _check(events, accounts=None) -> int:
    checker = LifecycleChecker(accounts=accounts or {})
    for seq, (kind, actor, payload, created_at) in enumerate(events, start=1):
        checker.feed(seq, kind, actor, payload, created_at)
    return checker.applied


def test_a_patch_tested_audited_and_approved_by_its_quorum_applies() -> None:
    assert _check(_events(approvers=("rita", "sam"))) == 1


@pytest.mark.parametrize(
    ("events", "problem"),
    [
        (_events(tested=False, approvers=("rita", "sam")), "without a TestGatePassed"),
        (_events(audited=False, approvers=("rita", "sam")), "before the audit gate checked it"),
        (_events(approvers=("rita",)), "with 1 approvals; the audit gate required 2"),
        (_events(approvers=("rita", "rita")), "with 1 approvals"),
        (_events(approvers=("rita", "mallory")), "'mallory', who was not a reviewer"),
    ],
)
def test_an_apply_the_rules_do_not_allow_is_refused_at_its_seq(events, problem: str) -> None:
    with pytest.raises(LifecycleBroken, match=problem):
        _check(events)


def test_a_reviewer_counts_only_from_when_they_joined() -> None:
    accounts = {"mallory": Account(joined_at=T2)}
    events = _events(approvers=("rita", "mallory"))
    _check(events, {"mallory": Account(joined_at=T0)})
    with pytest.raises(LifecycleBroken, match="who was not a reviewer at"):
        _check(events, accounts | {"mallory": Account(joined_at="2026-12-02T00:00:00.000000Z")})


def test_a_review_recorded_under_another_actor_is_refused() -> None:
    events = _events(approvers=("rita", "sam"))
    events[-2] = ("ReviewRecorded", "user:rita", events[-2][2], T2)
    with pytest.raises(LifecycleBroken, match="recorded under another actor"):
        _check(events)


def test_agent_keys_are_registered_by_the_console_or_an_admin_only() -> None:
    key = {"agent": "bot", "key_id": "k"}
    _check([("AgentKeyRegistered", "system:console", key, T0)])
    _check([("AgentKeyRegistered", "user:ada", key, T1)], {"ada": Account(T0, admin=True)})
    for actor, accounts in [
        ("user:rita", {"rita": Account(T0)}),
        ("agent:bot", {}),
        ("user:ada", {"ada": Account(T2, admin=True)}),  # not yet an admin then
    ]:
        with pytest.raises(LifecycleBroken, match="not an admin or the console"):
            _check([("AgentKeyRegistered", actor, key, T1)], accounts)


def test_the_rules_need_no_django() -> None:
    assert frameworks_loaded_by("audit.lifecycle_rules") == []
