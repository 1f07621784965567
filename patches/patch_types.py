"""The patch type registry: what each patch type is, stated once and looked up everywhere else.

A type's content kind says how its content is stored and patched ("text": unified diffs,
"json": canonical JSON patched by RFC 6902 JSON Patch), its shape is the JSON Schema its content
must satisfy (JSON kinds only), its diff language is the Pygments lexer its diffs are shown
with, and its evaluator runs its content as data for behavioural tests, where it has one.
No Django import: the stand-alone verifier (audit/verifier.py) replays targets with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from patches.shapes import (
    CONFIG_SCHEMA,
    POLICY_SCHEMA,
    ROUTING_SCHEMA,
    TOOLS_SCHEMA,
    ContentError,
    Shape,
    policy_check,
    tools_check,
)
from patches.testgate.behaviour import decide, route

ContentKind = Literal["text", "json"]
# (content as a JSON value, one case's input) -> what the content does with it: a route, a decision.
Evaluator = Callable[[Any, Any], str]


class UnknownPatchType(ValueError):
    """A patch type name that is not in the registry."""


@dataclass(frozen=True)
class PatchTypeSpec:
    name: str
    content_kind: ContentKind
    diff_language: str  # the Pygments lexer name console.diffs highlights its content with
    shape: Shape | None = None  # None for text content, which has no JSON shape
    evaluator: Evaluator | None = None

    @property
    def schema(self) -> dict[str, Any] | None:
        """The JSON Schema of this type's content, or None for text content."""
        return None if self.shape is None else self.shape.schema

    def content_check(self, value: Any, *, schema: Any = None) -> None:
        """Raise ContentError naming the JSON path where value breaks this type's shape or the
        target's own schema."""
        if self.shape is None:
            raise ContentError(
                f"{self.name!r} content is not JSON: JSON types are {', '.join(JSON_TYPE_NAMES)}"
            )
        self.shape.check(value, label=self.name, schema=schema)


# The order is the order of the model's choices (patches.models.PatchType); keep it.
_SPECS = (
    PatchTypeSpec("Prompt", "text", "markdown"),
    PatchTypeSpec("Policy", "json", "json", Shape(POLICY_SCHEMA, policy_check), decide),
    PatchTypeSpec("Routing", "json", "json", Shape(ROUTING_SCHEMA), route),
    PatchTypeSpec("Config", "json", "json", Shape(CONFIG_SCHEMA)),
    PatchTypeSpec("Tools", "json", "json", Shape(TOOLS_SCHEMA, tools_check)),
)

PATCH_TYPES: Mapping[str, PatchTypeSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
PATCH_TYPE_NAMES: tuple[str, ...] = tuple(PATCH_TYPES)
JSON_TYPE_NAMES: tuple[str, ...] = tuple(s.name for s in _SPECS if s.content_kind == "json")


def patch_type_spec(name: str) -> PatchTypeSpec:
    """The registry entry of a patch type; UnknownPatchType names the known ones."""
    spec = PATCH_TYPES.get(name) if isinstance(name, str) else None
    if spec is None:
        raise UnknownPatchType(
            f"unknown patch type {name!r}: use one of {', '.join(PATCH_TYPE_NAMES)}"
        )
    return spec
