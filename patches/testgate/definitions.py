"""Creating test definitions: validated params, and the targets that make them mandatory or
offer them to agents."""

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
    offered_for: Sequence[str] = (),
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
    named = set(mandatory_for) | set(offered_for)
    targets = list(Target.objects.filter(name__in=named))
    missing = sorted(named - {t.name for t in targets})
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
            # Mandatory wins: a mandatory test always runs, so offering it too adds nothing.
            if target.name in mandatory_for:
                target.mandatory_tests.add(definition)
            else:
                target.offered_tests.add(definition)
    return definition
