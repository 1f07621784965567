"""Patch formats: apply a patch to a target's content and derive its inverse, deterministically.

Text targets take strict unified diffs (`unified_diff`), JSON targets RFC 6902 JSON Patch
(`json_patch`). JSON content is held as canonical JSON text (RFC 8785), so equal values always
have equal bytes and equal content hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patches.canonical import CanonicalizationError, canonical_text, parse_json, sha256_hash
from patches.formats.errors import PatchError
from patches.formats.json_patch import (
    MAX_CONTENT_BYTES,
    ContentTooLarge,
    apply_json_patch,
    make_json_patch,
)
from patches.formats.unified_diff import apply_unified_diff, make_unified_diff
from patches.patch_types import UnknownPatchType, patch_type_spec

__all__ = [
    "MAX_CONTENT_BYTES",
    "Applied",
    "ContentTooLarge",
    "PatchError",
    "apply_patch",
    "content_hash",
    "make_patch",
    "normalize_content",
]


@dataclass(frozen=True)
class Applied:
    content: str  # the new content, as stored (canonical JSON text for JSON targets)
    inverse_patch: str  # applying it to `content` gives the base bytes back exactly


def content_hash(content: str) -> str:
    return sha256_hash(content.encode("utf-8"))


def _check_text(text: str, what: str) -> str:
    # Stored text must hash as UTF-8 and fit a PostgreSQL text column, which refuses NUL.
    if "\x00" in text:
        raise PatchError(f"{what} contains a NUL character, which text content may not hold")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PatchError(f"{what} is not valid Unicode text: {exc.reason} at {exc.start}") from exc
    return text


def _content_kind(patch_type: str) -> str:
    try:
        return patch_type_spec(patch_type).content_kind
    except UnknownPatchType as exc:
        raise PatchError(str(exc)) from exc


def normalize_content(*, patch_type: str, raw: str, schema: Any = None) -> str:
    """Content as stored: text as is; JSON parsed strictly, shape-checked, canonical text."""
    if _content_kind(patch_type) == "text":
        return _check_text(raw, "the content")
    try:
        value = parse_json(raw)
        patch_type_spec(patch_type).content_check(value, schema=schema)
        return canonical_text(value)
    except (ValueError, CanonicalizationError) as exc:
        raise PatchError(str(exc)) from exc


def apply_patch(
    *,
    patch_type: str,
    base: str,
    patch: str,
    schema: Any = None,
    max_content_bytes: int = MAX_CONTENT_BYTES,
) -> Applied:
    """Apply patch to base; the result must keep its type's shape and the target's schema, and
    have at most max_content_bytes of UTF-8 (else ContentTooLarge).

    A patch whose result equals its base is refused: it would be a version that changes
    nothing, and its inverse would be the empty text diff, which is not a patch.
    """
    if _content_kind(patch_type) == "text":
        result = _patched_text(base, patch, max_content_bytes)
        return Applied(content=result, inverse_patch=make_unified_diff(result, base))
    value, base_value, result_text = _patched_json(
        patch_type, base, patch, schema, max_content_bytes
    )
    return Applied(content=result_text, inverse_patch=make_json_patch(value, base_value))


def check_patch(
    *,
    patch_type: str,
    base: str,
    patch: str,
    schema: Any = None,
    max_content_bytes: int = MAX_CONTENT_BYTES,
) -> str:
    """The content apply_patch would give, with the same checks, without making the inverse."""
    if _content_kind(patch_type) == "text":
        return _patched_text(base, patch, max_content_bytes)
    return _patched_json(patch_type, base, patch, schema, max_content_bytes)[2]


def _check_size(content: str, limit: int) -> None:
    # len() first: a code point is at least one UTF-8 byte, so longer text is over at once.
    if len(content) > limit or len(content.encode("utf-8")) > limit:
        raise ContentTooLarge(
            f"the patched content is over the limit of {limit} bytes", limit=limit
        )


def _patched_text(base: str, patch: str, max_bytes: int) -> str:
    result = _check_text(apply_unified_diff(base, patch), "the patched content")
    _check_size(result, max_bytes)
    if result == base:
        raise PatchError("the patch changes nothing: its result equals the base")
    return result


def _patched_json(
    patch_type: str, base: str, patch: str, schema: Any, max_bytes: int
) -> tuple[Any, Any, str]:
    """(patched value, base value, patched canonical text) for a JSON content kind."""
    try:
        base_value = parse_json(base)
    except ValueError as exc:
        raise PatchError(f"the base is not JSON: {exc}") from exc
    # Refuses a result over the limit before anything canonicalizes or schema-checks it.
    value = apply_json_patch(base_value, patch, max_bytes=max_bytes)
    try:
        patch_type_spec(patch_type).content_check(value, schema=schema)
        result_text = canonical_text(value)
    except CanonicalizationError as exc:
        raise PatchError(f"the patched content is not representable: {exc}") from exc
    except ValueError as exc:
        raise PatchError(str(exc)) from exc
    _check_size(result_text, max_bytes)  # the exact size: escapes can make it larger
    if result_text == canonical_text(base_value):
        raise PatchError("the patch changes nothing: its result equals the base")
    return value, base_value, result_text


def make_patch(*, content_kind: str, old: str, new: str) -> str:
    """A patch that turns old into new, in the format of content_kind.

    Equal contents give "" for text (a diff with no hunks, which apply refuses) and "[]" for JSON.
    """
    if content_kind == "text":
        return make_unified_diff(old, new)
    return make_json_patch(parse_json(old), parse_json(new))
