"""The proposal state machine: one service per transition, each logging its event atomically.

testing → in_review → applied; or rejected (stage test_gate / audit_gate / apply); or withdrawn;
in_review ⇄ changes_requested; any open status → stale (the target moved) or superseded (a
revision replaced it, patches.submit).
Every function here takes the proposal's row lock first, so two workers or two reviewers can
never both move the same proposal.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from patches.canonical import sha256_hash
from patches.formats import content_hash
from patches.labels import labels_follow_apply, on_apply_labels
from patches.log import event_append
from patches.models import (
    OPEN_STATUSES,
    AgentKey,
    GateStatus,
    Proposal,
    ProposalStatus,
    RejectionStage,
    Target,
    TargetVersion,
)
from patches.signing import SignatureError, verify_bytes
from patches.submit import SubmitRefused, envelope_parse
from patches.targets import target_patch_apply


class TransitionError(Exception):
    """The proposal is not in a state that allows this transition."""


def proposal_lock(proposal: Proposal) -> Proposal:
    """The proposal, re-read under lock, taking locks in the one order every writer follows.

    Lock order: the target row, then proposal rows, then (when an event is written) the log's
    chain lock. A transition that locked its proposal first could deadlock with an apply that
    holds the target and the chain lock and then marks that proposal stale. FOR NO KEY
    UPDATE throughout, so other transactions' foreign-key checks (KEY SHARE) never wait on us;
    of=("self",) so the join does not also lock the agent row.
    """
    list(
        Target.objects.select_for_update(no_key=True)
        .filter(pk=proposal.target_id)
        .values_list("pk", flat=True)
    )
    return (
        Proposal.objects.select_for_update(of=("self",), no_key=True)
        .select_related("target", "agent")
        .get(pk=proposal.pk)
    )


def _require_status(proposal: Proposal, *allowed: str) -> None:
    if proposal.status not in allowed:
        raise TransitionError(
            f"proposal {proposal.pk} is {proposal.status}; this needs {' or '.join(allowed)}"
        )


def proposal_pass_test_gate(*, proposal: Proposal) -> Proposal:
    """testing → in_review. The audit gate runs next, in its own transaction (audit.gates)."""
    with transaction.atomic():
        proposal = proposal_lock(proposal)
        _require_status(proposal, ProposalStatus.TESTING)
        proposal.status = ProposalStatus.IN_REVIEW
        proposal.save(update_fields=["status", "updated_at"])
        tests = list(proposal.test_run.results.order_by("position").values_list("name", flat=True))
        event_append(
            kind="TestGatePassed",
            actor="system:test_gate",
            payload={
                "patch_hash": proposal.patch_hash,
                "target": proposal.target.name,
                "tests": tests,
            },
            proposal=proposal,
        )
        return proposal


def proposal_reject(*, proposal: Proposal, stage: str, reason: str, actor: str) -> Proposal:
    """An open proposal → rejected, with the stage that refused it and why."""
    if stage not in RejectionStage.values:
        raise ValueError(f"unknown rejection stage {stage!r}")
    if not reason.strip():
        raise ValueError("a rejection needs a reason")
    with transaction.atomic():
        proposal = proposal_lock(proposal)
        _require_status(proposal, *OPEN_STATUSES)
        proposal.status = ProposalStatus.REJECTED
        proposal.stage = stage
        proposal.reason = reason
        proposal.decided_at = timezone.now()
        proposal.save(update_fields=["status", "stage", "reason", "decided_at", "updated_at"])
        event_append(
            kind="PatchRejected",
            actor=actor,
            payload={
                "patch_hash": proposal.patch_hash,
                "reason": reason,
                "stage": stage,
                "target": proposal.target.name,
                "proposal": proposal.pk,
            },
            proposal=proposal,
        )
        return proposal


def proposal_withdraw(*, proposal: Proposal, actor: str) -> Proposal:
    with transaction.atomic():
        proposal = proposal_lock(proposal)
        _require_status(proposal, *OPEN_STATUSES)
        proposal.status = ProposalStatus.WITHDRAWN
        proposal.decided_at = timezone.now()
        proposal.save(update_fields=["status", "decided_at", "updated_at"])
        event_append(
            kind="PatchWithdrawn",
            actor=actor,
            payload={
                "patch_hash": proposal.patch_hash,
                "target": proposal.target.name,
                "proposal": proposal.pk,
            },
            proposal=proposal,
        )
        return proposal


class ApplyRefused(Exception):
    """A precondition of applying failed; `stage` and `reason` say which, for the rejection."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_apply_preconditions(proposal: Proposal, target: Target) -> dict[str, Any]:
    """The proposal's fields as its agent signed them, once every precondition holds."""
    # Invariant 2: only a gate run that passed for this exact patch_hash lets a patch through.
    run = getattr(proposal, "test_run", None)
    if run is None or run.status != GateStatus.PASSED or run.patch_hash != proposal.patch_hash:
        raise TransitionError(f"proposal {proposal.pk} has no passing test gate for its patch_hash")
    # Invariant 4: verified at submit, and again here: a key revoked since then blocks it.
    signature = proposal.signatures.select_related("key").first()
    if signature is None:
        raise TransitionError(f"proposal {proposal.pk} has no signature")
    key = AgentKey.objects.get(pk=signature.key_id)
    if key.revoked_at is not None:
        raise ApplyRefused(
            f"signing key {key.key_id} was revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S}Z"
        )
    signed = _signed_fields(proposal, key)
    if target.version != signed["base_version"]:
        raise ApplyRefused(
            f"base_version {signed['base_version']} is stale: target {target.name} is at "
            f"version {target.version}"
        )
    return signed


def _signed_fields(proposal: Proposal, key: AgentKey) -> dict[str, Any]:
    """The stored envelope, parsed and verified again as at submit, and equal to every column
    the gates and reviewers read: nothing guards the proposal table against an UPDATE."""
    try:
        envelope = envelope_parse(proposal.envelope)
    except SubmitRefused as exc:
        raise ApplyRefused(f"the stored signed envelope no longer reads: {exc.detail}") from exc
    if sha256_hash(envelope.signed) != proposal.patch_hash:
        raise ApplyRefused(
            f"the stored signed envelope does not hash to the proposal's patch_hash "
            f"{proposal.patch_hash}"
        )
    if envelope.key_id != key.key_id or key.agent_id != proposal.agent_id:
        raise ApplyRefused(
            f"the stored signed envelope names key {envelope.key_id}, not the key {key.key_id} "
            f"of agent {proposal.agent.name} verified at submit"
        )
    try:
        verify_bytes(bytes.fromhex(key.public_key), envelope.signed, envelope.signature)
    except SignatureError as exc:
        raise ApplyRefused(
            f"the stored signed envelope's signature does not verify with key {key.key_id}: {exc}"
        ) from exc
    signed = envelope.proposal
    stored = {
        "patch_type": proposal.patch_type,
        "target": proposal.target.name,
        "base_version": proposal.base_version,
        "patch": proposal.patch,
        "reasoning": proposal.reasoning,
        "test_requirements": proposal.test_requirements,
        "nonce": proposal.nonce,
        "revises": proposal.revises.patch_hash if proposal.revises is not None else None,
    }
    signed = {**signed, "revises": signed.get("revises")}
    edited = [name for name, value in stored.items() if signed[name] != value]
    if edited:
        # The gates tested and the reviewers read these columns: applying either the columns
        # (unsigned) or the envelope (untested, unreviewed) would be wrong.
        raise ApplyRefused(
            f"proposal {proposal.pk} was edited after signing: its stored {', '.join(edited)} "
            f"{'does' if len(edited) == 1 else 'do'} not match the signed envelope, so what was "
            f"tested and reviewed is not what agent {proposal.agent.name} signed"
        )
    return signed


def proposal_apply(*, proposal: Proposal, actor: str) -> TargetVersion:
    """in_review → applied: writes the next TargetVersion with its inverse, logs PatchApplied,
    and marks every other open proposal on the old base stale (PatchStale, system:apply).

    What applies is the stored envelope, verified again (invariant 4); a stale base, a revoked
    key, or an envelope or column edited since submit rejects the proposal at stage `apply`
    (committed) and then raises ApplyRefused; a caller inside its own transaction must catch
    it there, not let it roll the rejection back.
    """
    refused: ApplyRefused | None = None
    with transaction.atomic():
        proposal = proposal_lock(proposal)
        _require_status(proposal, ProposalStatus.IN_REVIEW)
        # FOR NO KEY UPDATE: serializes applies on this target without blocking the foreign key
        # checks (KEY SHARE) that a concurrent submit or gate runs on the target at commit
        # while it may hold the log's chain lock this apply needs next.
        target = Target.objects.select_for_update(no_key=True).get(pk=proposal.target_id)
        try:
            signed = _check_apply_preconditions(proposal, target)
        except ApplyRefused as exc:
            proposal_reject(
                proposal=proposal, stage=RejectionStage.APPLY, reason=exc.reason, actor=actor
            )
            refused = exc
        else:
            new_version = _write_next_version(
                proposal=proposal, signed=signed, target=target, actor=actor
            )
    if refused is not None:
        raise refused
    return new_version


def _write_next_version(
    *, proposal: Proposal, signed: dict[str, Any], target: Target, actor: str
) -> TargetVersion:
    base = TargetVersion.objects.get(target=target, version=target.version)
    applied = target_patch_apply(target=target, base=base.content, patch=signed["patch"])
    new_version = TargetVersion.objects.create(
        target=target,
        version=target.version + 1,
        content=applied.content,
        content_hash=content_hash(applied.content),
        proposal=proposal,
        inverse_patch=applied.inverse_patch,
    )
    target.version = new_version.version
    target.save(update_fields=["version"])
    proposal.status = ProposalStatus.APPLIED
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_at", "updated_at"])
    # The labels this apply moves, named in PatchApplied and each moved by its own LabelMoved
    # right after it (patches.labels; docs/labels.md).
    labels_moved = on_apply_labels(target)
    event_append(
        kind="PatchApplied",
        actor=actor,
        payload={
            "patch_type": signed["patch_type"],
            "target": target.name,
            "patch_hash": proposal.patch_hash,
            "reasoning": signed["reasoning"],
            "version": new_version.version,
            "content_hash": new_version.content_hash,
            "base_version": signed["base_version"],
            "proposal": proposal.pk,
            "labels_moved": labels_moved,
        },
        proposal=proposal,
    )
    labels_follow_apply(target=target, proposal=proposal, names=labels_moved, actor=actor)
    _mark_stale(target=target, applied=proposal)
    return new_version


STALE_ACTOR = "system:apply"


def stale_on_apply(*, target: Target, applying: Proposal) -> list[Proposal]:
    """The open proposals that applying `applying` now would make stale: every other open
    proposal on the target (they are all on the current base or an older one)."""
    return list(
        Proposal.objects.filter(target=target, status__in=OPEN_STATUSES)
        .exclude(pk=applying.pk)
        .exclude(status=ProposalStatus.STALE)
        .order_by("pk")
    )


def _mark_stale(*, target: Target, applied: Proposal) -> None:
    # Stale, never rejected: the proposal may still be right, on the old base. Its agent
    # rebases and revises it (docs/revisions.md). The actor is the system, not the reviewer
    # whose approval moved the target.
    # The same rule the decision box uses to name them beforehand.
    for other in stale_on_apply(target=target, applying=applied):
        proposal_mark_stale(proposal=other, current_version=target.version)


def proposal_mark_stale(*, proposal: Proposal, current_version: int) -> Proposal:
    """An open proposal whose base the target has moved past → stale (still open)."""
    with transaction.atomic():
        proposal = proposal_lock(proposal)
        _require_status(proposal, *OPEN_STATUSES)
        proposal.status = ProposalStatus.STALE
        proposal.save(update_fields=["status", "updated_at"])
        event_append(
            kind="PatchStale",
            actor=STALE_ACTOR,
            payload={
                "patch_hash": proposal.patch_hash,
                "base_version": proposal.base_version,
                "current_version": current_version,
                "target": proposal.target.name,
                "proposal": proposal.pk,
            },
            proposal=proposal,
        )
        return proposal


def proposal_review_status(*, proposal: Proposal, status: str) -> Proposal:
    """in_review ⇄ changes_requested, as a review or a withdrawn request decides; the caller
    logs it (ReviewRecorded, ChangeRequestWithdrawn) in the same transaction."""
    allowed: dict[str, tuple[str, ...]] = {
        ProposalStatus.CHANGES_REQUESTED: (ProposalStatus.IN_REVIEW,),
        ProposalStatus.IN_REVIEW: (ProposalStatus.CHANGES_REQUESTED,),
    }
    if status not in allowed:
        raise ValueError(f"not a review status: {status!r}")
    proposal = proposal_lock(proposal)
    if proposal.status == status:
        return proposal
    _require_status(proposal, *allowed[status])
    proposal.status = status
    proposal.save(update_fields=["status", "updated_at"])
    return proposal
