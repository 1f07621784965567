"""Reverting an applied version: a proposal like any other, signed by the console for a person."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.db import transaction

from audit.access import revert_refusal
from audit.gates import proposal_submit_and_gate
from patches.agents import console_agent
from patches.canonical import canonical
from patches.formats import PatchError, make_patch
from patches.formats.json_patch import parse_json_patch
from patches.lifecycle import TransitionError, proposal_withdraw
from patches.log import event_append
from patches.models import OPEN_STATUSES, Proposal, TargetVersion
from patches.signing import ALGORITHM, console_private_key, key_id_of, raw_public_key, sign
from patches.submit import SubmitRefused
from patches.targets import target_patch_apply


class RevertError(ValueError):
    """The version cannot be reverted (now); the message says why."""


_MISSING = object()
MAX_REVERT_REASON_CHARS = 2000


def revert_propose(*, version: TargetVersion, user: Any, reason: str) -> Proposal:
    """Propose undoing `version` of its target, on behalf of `user` (who may then not review it).

    `reason` (required) becomes the revert's reasoning: "Restore v2 of system_prompt: <reason>".

    Against the current version the stored inverse patch is proposed as is; if later versions
    exist, the inverse is applied to the current content and the proposal is a fresh patch from
    the current content to that result, refused when later versions changed the same places.
    """
    target = version.target
    refusal = revert_refusal(user=user, target=target)
    if refusal:
        raise RevertError(refusal)
    if version.version == 1 or version.proposal_id is None:
        raise RevertError(
            f"version {version.version} of {target.name} is its genesis; there is nothing to revert"
        )
    open_revert = Proposal.objects.filter(reverts=version, status__in=OPEN_STATUSES).first()
    if open_revert is not None:
        raise RevertError(
            f"a revert of {target.name} version {version.version} is already open (proposal {open_revert.pk})"
        )
    reason = reason.strip()
    if not reason:
        raise RevertError("say why: a revert needs a reason, which reviewers read as its reasoning")
    if len(reason) > MAX_REVERT_REASON_CHARS:
        raise RevertError(f"the reason is longer than {MAX_REVERT_REASON_CHARS} characters")
    target.refresh_from_db()
    current = TargetVersion.objects.get(target=target, version=target.version)
    patch = _undo_patch(version=version, current=current)
    previous = TargetVersion.objects.get(target=target, version=version.version - 1)
    assert version.proposal is not None  # checked above: only applied versions get here
    fields = {
        "patch_type": target.patch_type,
        "target": target.name,
        "base_version": current.version,
        "patch": patch,
        "reasoning": (
            f"Restore v{previous.version} of {target.name}: {reason}\n\n"
            f"Reverts v{version.version} on behalf of {user.get_username()}: undoes "
            f"{version.proposal.patch_hash}, which changed {previous.content_hash} into "
            f"{version.content_hash}."
        ),
        "test_requirements": [],
        "nonce": secrets.token_hex(16),
    }
    private_key = console_private_key()
    envelope = {
        "proposal": fields,
        "signature": {
            "key_id": key_id_of(raw_public_key(private_key.public_key())),
            "algorithm": ALGORITHM,
            "value": sign(private_key, fields),
        },
    }
    body = canonical(envelope)  # stored exactly as serialized here, like any agent's body
    agent = console_agent()
    with transaction.atomic():
        try:
            proposal = proposal_submit_and_gate(agent=agent, body=body)
        except SubmitRefused as exc:
            raise RevertError(f"the revert could not be proposed: {exc.detail}") from exc
        proposal.submitted_by = user
        proposal.reverts = version
        proposal.save(update_fields=["submitted_by", "reverts", "updated_at"])
        # PatchProposed names the console agent; this names the person it acted for.
        event_append(
            kind="RevertProposed",
            actor=f"user:{user.get_username()}",
            payload={
                "patch_hash": proposal.patch_hash,
                "proposal": proposal.pk,
                "target": target.name,
                "reverts_version": version.version,
                "base_version": current.version,
            },
            proposal=proposal,
        )
    return proposal


def revert_blocker(*, version: TargetVersion, current: TargetVersion) -> str | None:
    """Why `version` cannot be reverted now (genesis, a revert already open, later versions
    changed the same places), or None; the target page hides the action and says this instead.
    `version.open_reverts` may hold the open reverts' ids, prefetched for a whole history."""
    if version.version == 1 or version.proposal_id is None:
        return "genesis: nothing to revert"
    open_ids = getattr(version, "open_reverts", None)
    if open_ids is None:
        open_ids = list(
            Proposal.objects.filter(reverts=version, status__in=OPEN_STATUSES).values_list(
                "pk", flat=True
            )
        )
    if open_ids:
        return f"a revert is open: #{open_ids[0]}"
    try:
        _undo_patch(version=version, current=current)
    except RevertError as exc:
        text = str(exc)
        return text.split(": ", 1)[-1] if "can no longer be reverted" in text else text
    return None


def revert_withdraw_refusal(*, user: Any, proposal: Proposal) -> str | None:
    """Why this person may not withdraw this proposal, or None: the requester of an open revert."""
    if proposal.reverts_id is None or proposal.submitted_by_id is None:
        return "only reverts asked for in the console can be withdrawn here"
    if not getattr(user, "is_authenticated", False) or proposal.submitted_by_id != user.pk:
        return "only the person who asked for this revert may withdraw it"
    if proposal.status not in OPEN_STATUSES:
        return f"the revert is {proposal.status}, no longer open"
    return None


def revert_withdraw(*, proposal: Proposal, user: Any) -> Proposal:
    """The requester takes back their revert (event PatchWithdrawn, actor the person)."""
    refusal = revert_withdraw_refusal(user=user, proposal=proposal)
    if refusal:
        raise RevertError(refusal)
    try:
        return proposal_withdraw(proposal=proposal, actor=f"user:{user.get_username()}")
    except TransitionError as exc:  # decided meanwhile
        raise RevertError(f"the revert can no longer be withdrawn: {exc}") from exc


def _undo_patch(*, version: TargetVersion, current: TargetVersion) -> str:
    target = version.target
    if current.version == version.version:
        return version.inverse_patch
    if target.content_kind == "json":
        _refuse_json_conflicts(version=version, current=current)
    try:
        undone = target_patch_apply(
            target=target, base=current.content, patch=version.inverse_patch
        )
    except PatchError as exc:
        raise RevertError(
            f"version {version.version} of {target.name} can no longer be reverted: later versions "
            f"changed the same content ({exc})"
        ) from exc
    if undone.content == current.content:
        raise RevertError(
            f"version {version.version}'s change is no longer in {target.name} version {current.version}"
        )
    return make_patch(content_kind=target.content_kind, old=current.content, new=undone.content)


def _resolve(document: Any, pointer: str) -> Any:
    value = document
    for raw in pointer.split("/")[1:] if pointer else []:
        segment = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return _MISSING
    return value


def _refuse_json_conflicts(*, version: TargetVersion, current: TargetVersion) -> None:
    # A JSON Patch "replace" applies wherever its path exists, so it would silently undo later
    # changes at the same place; refuse unless every place the inverse touches still holds what
    # this version left there.
    after, now = json.loads(version.content), json.loads(current.content)
    for operation in parse_json_patch(version.inverse_patch):
        for pointer in (operation["path"], operation.get("from")):
            if pointer is None:
                continue
            if _resolve(after, pointer) != _resolve(now, pointer):
                raise RevertError(
                    f"version {version.version} of {version.target.name} can no longer be "
                    f"reverted: a later version changed {pointer or '/'} too"
                )
