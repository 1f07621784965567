"""The JSON content shapes, and validation against a shape and a target's own schema.

The shapes follow DESIGN.md "Behaviour data shapes" and what `patches.testgate.behaviour`
evaluates: objects that carry meaning refuse unknown keys, so a typo such as "treshold" or a
comparison "gte" is an error at the door rather than a silently ignored field. Each may carry a
free "description". Config content is any object; its target's own schema constrains it. Which
shape belongs to which patch type is said once, by the registry in `patches.patch_types`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jsonschema
import referencing.exceptions

DRAFT = "https://json-schema.org/draft/2020-12/schema"
COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le", "in", "contains")
_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_DESCRIPTION = {"type": "string"}
_ORDERED = {"type": ["number", "string"]}  # gt/ge/lt/le compare two numbers or two strings


class ContentError(ValueError):
    """Content that breaks its type's shape or the target's schema; names the failing path."""


def _condition_schema() -> dict[str, Any]:
    condition = {"$ref": "#/$defs/condition"}
    comparison = {
        "required": ["field"],
        "properties": {
            "field": {"type": "string", "pattern": r"^[^.]+(\.[^.]+)*$"},
            **{op: {} for op in COMPARISONS},
            "in": {"type": "array"},
            **{op: _ORDERED for op in ("gt", "ge", "lt", "le")},
        },
        "additionalProperties": False,
        "minProperties": 2,
        "maxProperties": 2,  # the field and exactly one comparison
    }
    # if/then chains rather than oneOf, so an error names the branch the object meant to be.
    return {
        "type": "object",
        "if": {"required": ["all"]},
        "then": {
            "properties": {"all": {"type": "array", "items": condition}},
            "additionalProperties": False,
        },
        "else": {
            "if": {"required": ["any"]},
            "then": {
                "properties": {"any": {"type": "array", "items": condition}},
                "additionalProperties": False,
            },
            "else": {
                "if": {"required": ["not"]},
                "then": {"properties": {"not": condition}, "additionalProperties": False},
                "else": comparison,
            },
        },
    }


ROUTING_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "type": "object",
    "required": ["default", "routes"],
    "properties": {
        "default": _NAME,
        "threshold": {"type": "number"},
        "routes": {
            "type": "object",
            "propertyNames": {"minLength": 1},
            "additionalProperties": {
                "type": "object",
                "required": ["keywords"],
                "properties": {
                    "weight": {"type": "number", "minimum": 0},
                    "keywords": {"type": "object", "additionalProperties": {"type": "number"}},
                    "description": _DESCRIPTION,
                },
                "additionalProperties": False,
            },
        },
        "description": _DESCRIPTION,
    },
    "additionalProperties": False,
}

POLICY_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "type": "object",
    "required": ["default", "rules"],
    "properties": {
        "default": _NAME,
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "when", "decision"],
                "properties": {
                    "name": _NAME,
                    "when": {"$ref": "#/$defs/condition"},
                    "decision": _NAME,
                    "description": _DESCRIPTION,
                },
                "additionalProperties": False,
            },
        },
        "description": _DESCRIPTION,
    },
    "additionalProperties": False,
    "$defs": {"condition": _condition_schema()},
}

TOOLS_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "type": "object",
    "required": ["tools"],
    "properties": {
        "tools": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "description", "parameters", "permissions"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
                    "description": _DESCRIPTION,
                    "parameters": {"type": "object"},
                    "permissions": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "uniqueItems": True,
                    },
                },
                "additionalProperties": False,
            },
        },
        "description": _DESCRIPTION,
    },
    "additionalProperties": False,
}

CONFIG_SCHEMA: dict[str, Any] = {"$schema": DRAFT, "type": "object"}


def _pointer(parts: Any) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _check(value: Any, validator: jsonschema.Draft202012Validator, label: str) -> None:
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except referencing.exceptions.Unresolvable as exc:
        raise ContentError(f"{label} has a $ref that cannot be resolved: {exc}") from exc
    except RecursionError as exc:  # e.g. {"$ref": "#"}, a schema that only refers to itself
        raise ContentError(f"{label} refers to itself without end ($ref loop)") from exc
    if error is not None:
        if error.validator in ("minProperties", "maxProperties") and "field" in error.instance:
            error.message = f'a comparison has "field" and exactly one of {", ".join(COMPARISONS)}'
        raise ContentError(f"{label} at {_pointer(error.absolute_path)}: {error.message}")


def tools_check(value: dict[str, Any]) -> None:
    """Tool names are unique and each tool's parameters are a JSON Schema."""
    seen: dict[str, int] = {}
    for index, tool in enumerate(value["tools"]):
        name = tool["name"]
        if name in seen:
            raise ContentError(
                f"Tools shape at /tools/{index}/name: duplicate tool name {name!r} "
                f"(also at /tools/{seen[name]})"
            )
        seen[name] = index
        try:
            jsonschema.Draft202012Validator.check_schema(tool["parameters"])
        except jsonschema.exceptions.SchemaError as exc:
            raise ContentError(
                f"Tools shape at /tools/{index}/parameters: the parameters of tool {name!r} "
                f"are not a valid JSON Schema: {exc.message} "
                f"(at {_pointer(exc.absolute_path)} of the schema)"
            ) from exc


def policy_check(value: dict[str, Any]) -> None:
    """Rule names are unique, so a finding or a test can name the rule it means."""
    seen: dict[str, int] = {}
    for index, rule in enumerate(value["rules"]):
        if rule["name"] in seen:
            raise ContentError(
                f"Policy shape at /rules/{index}/name: duplicate rule name {rule['name']!r} "
                f"(also at /rules/{seen[rule['name']]})"
            )
        seen[rule["name"]] = index


def target_schema_check(schema: Any) -> None:
    """Raise ContentError unless schema is a usable Draft 2020-12 JSON Schema."""
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        raise ContentError(
            f"the target schema is not a valid JSON Schema at {_pointer(exc.absolute_path)}: "
            f"{exc.message}"
        ) from exc


@dataclass(frozen=True, eq=False)
class Shape:
    """A JSON content shape: its JSON Schema, and the checks a JSON Schema cannot state."""

    schema: dict[str, Any]
    # Runs after the schema passes: unique names across a list are beyond JSON Schema.
    extra_check: Callable[[Any], None] | None = None

    @cached_property
    def validator(self) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(self.schema)

    def check(self, value: Any, *, label: str, schema: Any = None) -> None:
        """Raise ContentError naming the JSON path where value breaks this shape or schema.

        label names the shape in the error ("Routing" gives "Routing shape at /routes: …").
        """
        _check(value, self.validator, f"{label} shape")
        if self.extra_check is not None:
            self.extra_check(value)
        if schema is not None:
            target_schema_check(schema)
            _check(value, jsonschema.Draft202012Validator(schema), "target schema")
