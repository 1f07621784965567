"""The lifecycle the log must show, checked from its events alone (pure: no Django).

A hash chain proves the events were not changed since they were written, not that the console
wrote them in an order its rules allow. These rules hold in every log the console writes, so
verify_log, replay and the stand-alone verifier all check them, in seq order:

- no PatchApplied without its PatchProposed, a TestGatePassed for the same patch_hash, its
  AuditChecked, and approvals (ReviewRecorded, decision "approve") by as many distinct reviewers
  as the audit gate required;
- a review is by a reviewer who existed at that time (a ReviewerCreated event before it, or an
  account the caller knows to have joined before it), recorded under that reviewer's own actor;
- every agent key is registered by the console or by an admin;
- revisions (docs/revisions.md): a superseded proposal never applies; a PatchSuperseded names
  two proposed patches; a ReviewCarriedOver carries only approvals its reviewers gave the
  proposal the revision superseded, written by the audit gate; a PatchStale is written by
  `system:apply`; no PatchApplied while a request_changes of its change stands (its reviewer
  approved no later revision and no admin withdrew it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CONSOLE_ACTORS = frozenset({"system:console", "system:demo_seed"})


class LifecycleBroken(Exception):
    """The first event that breaks a lifecycle rule."""

    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"FAIL at seq {seq}: {problem}")
        self.seq = seq
        self.problem = problem


@dataclass(frozen=True)
class Account:
    """A person as the caller knows them: when they joined, and whether they are an admin."""

    joined_at: str  # RFC 3339 UTC with microseconds, comparable as text with created_at
    admin: bool = False


@dataclass
class LifecycleChecker:
    """Feed every event in seq order; raises LifecycleBroken at the first broken rule.

    `accounts`: people who may predate the ReviewerCreated event (created before it existed,
    or through Django's own tools); by username.
    """

    accounts: Mapping[str, Account] = field(default_factory=dict)
    proposed: set[str] = field(default_factory=set)
    tested: set[str] = field(default_factory=set)
    required: dict[str, int] = field(default_factory=dict)
    approvals: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    created: dict[str, Account] = field(default_factory=dict)
    applied: int = 0
    # Revisions: patch_hash → the patch_hash that superseded it; the change (first patch_hash)
    # and 1-based revision of each; per change, reviewer → revision of a standing request.
    superseded_by: dict[str, str] = field(default_factory=dict)
    change: dict[str, str] = field(default_factory=dict)
    revision: dict[str, int] = field(default_factory=dict)
    requests: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))

    def _account(self, username: Any, created_at: str) -> Account | None:
        known = self.created.get(username) or self.accounts.get(username)
        if known is None or known.joined_at > created_at:
            return None
        return known

    def _is_admin(self, actor: str, created_at: str) -> bool:
        if actor in CONSOLE_ACTORS:
            return True
        if not actor.startswith("user:"):
            return False
        account = self._account(actor.removeprefix("user:"), created_at)
        return account is not None and account.admin

    def feed(self, seq: int, kind: str, actor: str, payload: Any, created_at: str) -> None:
        check = _RULES.get(kind)
        if check is None:
            return
        if not isinstance(payload, dict):
            raise LifecycleBroken(seq, f"{kind} payload is not an object")
        problem = check(self, actor, payload, created_at)
        if problem:
            raise LifecycleBroken(seq, problem)


def _proposed(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    patch_hash = payload.get("patch_hash")
    checker.proposed.add(patch_hash)  # type: ignore[arg-type]
    checker.change.setdefault(patch_hash, patch_hash)  # type: ignore[arg-type]
    checker.revision.setdefault(patch_hash, 1)  # type: ignore[arg-type]
    return ""


def _superseded(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    old, new = payload.get("patch_hash"), payload.get("by")
    if old not in checker.proposed or new not in checker.proposed:
        return f"PatchSuperseded of {old} by {new}, which were not both proposed"
    if old in checker.superseded_by:
        return f"PatchSuperseded of {old} twice"
    checker.superseded_by[old] = new  # type: ignore[index]
    checker.change[new] = checker.change.get(old, old)  # type: ignore[index, arg-type]
    checker.revision[new] = checker.revision.get(old, 1) + 1  # type: ignore[index, arg-type]
    return ""


def _carried(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    patch_hash, source = payload.get("patch_hash"), payload.get("from_patch_hash")
    reviewers = payload.get("reviewers")
    if actor != "system:audit_gate":
        return f"ReviewCarriedOver to {patch_hash} written by {actor}, not the audit gate"
    if checker.superseded_by.get(source) != patch_hash:  # type: ignore[arg-type]
        return f"ReviewCarriedOver from {source}, which {patch_hash} did not supersede"
    if not isinstance(reviewers, list) or not reviewers:
        return "ReviewCarriedOver names no reviewers"
    missing = [r for r in reviewers if r not in checker.approvals[source]]  # type: ignore[index]
    if missing:
        return f"ReviewCarriedOver of approvals of {source} that {', '.join(map(str, missing))} never gave"
    checker.approvals[patch_hash].update(reviewers)  # type: ignore[index]
    return ""


def _standing(checker: LifecycleChecker, patch_hash: Any) -> dict[str, int]:
    """The standing change requests (reviewer → revision) of the change patch_hash belongs to."""
    return checker.requests[checker.change.get(str(patch_hash), str(patch_hash))]


def _stale(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    if actor != "system:apply":
        return f"PatchStale of {payload.get('patch_hash')} written by {actor}, not system:apply"
    return ""


def _request_withdrawn(
    checker: LifecycleChecker, actor: str, payload: dict, created_at: str
) -> str:
    if not checker._is_admin(actor, created_at):
        return f"a change request withdrawn by {actor}, who is not an admin"
    patch_hash = payload.get("patch_hash")
    standing = _standing(checker, patch_hash)
    if standing.get(payload.get("reviewer")) == checker.revision.get(patch_hash):  # type: ignore[arg-type]
        standing.pop(payload.get("reviewer"))  # type: ignore[arg-type]
    return ""


def _tested(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    patch_hash = payload.get("patch_hash")
    if patch_hash not in checker.proposed:
        return f"TestGatePassed for {patch_hash}, which was never proposed"
    checker.tested.add(patch_hash)
    return ""


def _audited(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    required = payload.get("approvals_required")
    if not isinstance(required, int) or isinstance(required, bool) or required < 0:
        return f"AuditChecked gives no approval count: {required!r}"
    checker.required[payload.get("patch_hash")] = required  # type: ignore[index]
    return ""


def _reviewer_created(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    username = payload.get("username")
    if not isinstance(username, str):
        return "ReviewerCreated names no username"
    if not checker._is_admin(actor, created_at):
        return f"reviewer {username} was created by {actor}, who is not an admin or the console"
    roles = payload.get("roles") or []
    checker.created[username] = Account(joined_at=created_at, admin="admin" in roles)
    return ""


def _reviewed(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    reviewer = payload.get("reviewer")
    if checker._account(reviewer, created_at) is None:
        return f"a review by {reviewer!r}, who was not a reviewer at {created_at}"
    if actor != f"user:{reviewer}":
        return f"a review by {reviewer} recorded under another actor, {actor}"
    patch_hash = payload.get("patch_hash")
    standing = _standing(checker, patch_hash)
    revision = checker.revision.get(patch_hash, 1)  # type: ignore[arg-type]
    if payload.get("decision") == "approve":
        checker.approvals[patch_hash].add(reviewer)  # type: ignore[index, arg-type]
        if standing.get(reviewer, revision) < revision:  # type: ignore[arg-type]
            standing.pop(reviewer)  # type: ignore[arg-type]
    elif payload.get("decision") == "request_changes":
        standing[reviewer] = revision  # type: ignore[index]
    return ""


def _applied(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    patch_hash = payload.get("patch_hash")
    if patch_hash not in checker.proposed:
        return f"PatchApplied of {patch_hash}, which was never proposed"
    if patch_hash not in checker.tested:
        return f"PatchApplied of {patch_hash} without a TestGatePassed for it"
    if patch_hash not in checker.required:
        return f"PatchApplied of {patch_hash} before the audit gate checked it"
    if patch_hash in checker.superseded_by:
        return f"PatchApplied of {patch_hash}, which a revision superseded"
    standing = checker.requests[checker.change.get(patch_hash, patch_hash)]
    if standing:
        return f"PatchApplied of {patch_hash} while {', '.join(sorted(standing))} asked for changes"
    approvals, required = len(checker.approvals[patch_hash]), checker.required[patch_hash]
    if approvals < required:
        return (
            f"PatchApplied of {patch_hash} with {approvals} approvals; the audit gate required "
            f"{required}"
        )
    checker.applied += 1
    return ""


def _key_registered(checker: LifecycleChecker, actor: str, payload: dict, created_at: str) -> str:
    if not checker._is_admin(actor, created_at):
        return (
            f"key {payload.get('key_id')} of agent {payload.get('agent')} was registered by "
            f"{actor}, who is not an admin or the console"
        )
    return ""


_RULES = {
    "PatchProposed": _proposed,
    "TestGatePassed": _tested,
    "AuditChecked": _audited,
    "ReviewerCreated": _reviewer_created,
    "ReviewRecorded": _reviewed,
    "PatchApplied": _applied,
    "AgentKeyRegistered": _key_registered,
    "PatchSuperseded": _superseded,
    "ReviewCarriedOver": _carried,
    "PatchStale": _stale,
    "ChangeRequestWithdrawn": _request_withdrawn,
}
LIFECYCLE_KINDS = tuple(_RULES)
