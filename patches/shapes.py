"""The JSON shape of each patch type's content, and validation against it and a target schema."""

from __future__ import annotations

from typing import Any

import jsonschema


class ContentError(ValueError):
    """Content that breaks its type's shape or the target's schema; names the failing path."""


TYPE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Config": {"type": "object"},
    "Routing": {"type": "object"},
    "Policy": {"type": "object"},
    "Tools": {"type": "object"},
}


def _check(value: Any, schema: dict[str, Any], label: str) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        path = "/" + "/".join(str(part) for part in error.absolute_path)
        raise ContentError(f"{label} at {path}: {error.message}")


def validate_content(*, patch_type: str, value: Any, schema: Any = None) -> None:
    if patch_type in TYPE_SCHEMAS:
        _check(value, TYPE_SCHEMAS[patch_type], f"{patch_type} shape")
    if schema:
        _check(value, schema, "target schema")
