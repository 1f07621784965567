"""Creating targets: the genesis version, its mandatory tests, and the TargetCreated event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from patches.audit_rules import AuditRulesError, audit_rules_validate
from patches.formats import Applied, apply_patch, check_patch, content_hash, normalize_content
from patches.label_models import default_on_apply
from patches.labels import LabelError, genesis_labels, on_apply_check
from patches.log import event_append
from patches.models import Target, TargetVersion, TestDefinition
from patches.patch_types import UnknownPatchType, patch_type_spec


class TargetError(ValueError):
    """A target that cannot be created as asked; the message says what to change."""


def target_create(
    *,
    name: str,
    patch_type: str,
    content: str,
    actor: str,
    schema: dict[str, Any] | None = None,
    required_approvals: int = 1,
    tests: Sequence[str] = (),
    description: str = "",
    audit_rules: dict[str, Any] | None = None,
    on_apply: Sequence[str] | None = None,
) -> Target:
    try:
        patch_type_spec(patch_type)  # refuse an unknown type before any other check
    except UnknownPatchType as exc:
        raise TargetError(str(exc)) from exc
    if Target.objects.filter(name=name).exists():
        raise TargetError(f"target {name!r} already exists")
    if required_approvals < 1:
        raise TargetError("required_approvals must be at least 1")
    try:
        audit_rules_validate(audit_rules or {})
    except AuditRulesError as exc:
        raise TargetError(str(exc)) from exc
    try:
        on_apply = on_apply_check(default_on_apply() if on_apply is None else on_apply)
    except LabelError as exc:
        raise TargetError(str(exc)) from exc
    definitions = list(TestDefinition.objects.filter(name__in=tests))
    missing = sorted(set(tests) - {d.name for d in definitions})
    if missing:
        raise TargetError(f"unknown tests: {', '.join(missing)}")
    stored = normalize_content(patch_type=patch_type, raw=content, schema=schema)
    with transaction.atomic():
        target = Target.objects.create(
            name=name,
            patch_type=patch_type,
            schema=schema,
            required_approvals=required_approvals,
            description=description,
            audit_rules=audit_rules or {},
            version=1,
            on_apply=on_apply,
        )
        target.mandatory_tests.set(definitions)
        genesis = TargetVersion.objects.create(
            target=target, version=1, content=stored, content_hash=content_hash(stored)
        )
        labels = genesis_labels(target)
        event_append(
            kind="TargetCreated",
            actor=actor,
            payload={
                "target": name,
                "patch_type": patch_type,
                "version": 1,
                "content_hash": genesis.content_hash,
                "required_approvals": required_approvals,
                "mandatory_tests": sorted(d.name for d in definitions),
                "labels": labels,
                "on_apply": on_apply,
            },
        )
    return target


def _format_of(target: Target) -> dict[str, Any]:
    return {"patch_type": target.patch_type, "schema": target.schema}


def target_patch_apply(*, target: Target, base: str, patch: str) -> Applied:
    """Apply patch to one of target's contents, with its format, its type's shape and schema."""
    return apply_patch(base=base, patch=patch, **_format_of(target))


def target_patch_check(*, target: Target, base: str, patch: str) -> str:
    """The content patch gives on base, checked as target_patch_apply checks it (no inverse),
    within MAX_TARGET_CONTENT_BYTES: submit's check. Apply and replay keep the format's ceiling,
    so lowering the setting never makes accepted history unreplayable."""
    return check_patch(
        base=base,
        patch=patch,
        max_content_bytes=settings.MAX_TARGET_CONTENT_BYTES,
        **_format_of(target),
    )
