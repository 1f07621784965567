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
from patches.log import event_append
from patches.models import OPEN_STATUSES, Proposal, TargetVersion
from patches.signing import ALGORITHM, console_private_key, key_id_of, raw_public_key, sign
from patches.submit import SubmitRefused
from patches.targets import target_patch_apply


class RevertError(ValueError):
    """The version cannot be reverted (now); the message says why."""


_MISSING = object()


def revert_propose(*, version: TargetVersion, user: Any) -> Proposal:
    """Propose undoing `version` of its target, on behalf of `user` (who may then not review it).

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
            f"Revert version {version.version} of {target.name} on behalf of "
            f"{user.get_username()}: undo {version.proposal.patch_hash}, "
            f"which changed {previous.content_hash} into {version.content_hash}."
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
