"""Creating test definitions: validated params, and the targets they become mandatory for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from patches.models import PatchType, Target, TestDefinition
from patches.testgate.kinds import testdef_validate


def testdef_create(
    *,
    name: str,
    kind: str,
    params: Any,
    patch_types: Sequence[str] = (),
    mandatory_for: Sequence[str] = (),
    timeout_s: int = 30,
    description: str = "",
) -> TestDefinition:
    """Raises ValueError naming what to fix: bad params, unknown targets, a taken name."""
    testdef_validate(kind, params)
    unknown_types = sorted(set(patch_types) - set(PatchType.values))
    if unknown_types:
        raise ValueError(
            f"unknown patch types {', '.join(unknown_types)}: use {', '.join(PatchType.values)}"
        )
    if timeout_s < 1:
        raise ValueError("timeout_s must be at least 1 second")
    if TestDefinition.objects.filter(name=name).exists():
        raise ValueError(f"a test named {name!r} already exists")
    targets = list(Target.objects.filter(name__in=mandatory_for))
    missing = sorted(set(mandatory_for) - {t.name for t in targets})
    if missing:
        raise ValueError(f"unknown targets: {', '.join(missing)}")
    unfit = [t.name for t in targets if patch_types and t.patch_type not in patch_types]
    if unfit:
        raise ValueError(
            f"targets {', '.join(unfit)} are not of patch types {', '.join(patch_types)}"
        )
    with transaction.atomic():
        definition = TestDefinition.objects.create(
            name=name,
            kind=kind,
            params=params,
            patch_types=list(patch_types),
            timeout_s=timeout_s,
            description=description,
        )
        for target in targets:
            target.mandatory_tests.add(definition)
    return definition
