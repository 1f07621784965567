"""Canonical JSON bytes (RFC 8785, JCS), strict JSON parsing and `sha256:` hashes."""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

import rfc8785

HASH_PREFIX = "sha256:"
ZERO_HASH = HASH_PREFIX + "0" * 64
MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalizationError(ValueError):
    """A value that RFC 8785 cannot represent exactly; it is refused, never altered."""


class JSONInputError(ValueError):
    """Input that is not strict JSON: bad syntax, duplicate keys, NaN, or nesting too deep."""


# The C encoder writes exactly RFC 8785 for values that _plain() admits (see there): the one
# fast path, differential-tested against the rfc8785 package (tests/patches/test_canonical.py).
PLAIN_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
NON_BMP = re.compile("[\U00010000-\U0010ffff]")


def _plain(value: Any) -> bool:
    """Whether json.dumps writes value exactly as RFC 8785 does.

    True for dicts with str keys, lists, str, bool, None and ints within 2^53, when no key has a
    character outside the BMP. The two then agree byte for byte: the same escapes (quote,
    backslash, the short forms of BS TAB LF FF CR, other controls as a lowercase 4-digit
    unicode escape, nothing else), digits for ints, and key order (code points sort as UTF-16
    units do inside the BMP). Floats, whose RFC 8785 form differs from Python's repr, and
    anything else take the full implementation. Lone surrogates pass here and fail the UTF-8
    encode after.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            return False
        if kind is list:
            stack.extend(item)
            continue
        if kind is dict:
            for key in item:
                if type(key) is not str or (not key.isascii() and NON_BMP.search(key)):
                    return False
            stack.extend(item.values())
            continue
        return False
    return True


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes of value. Refuses ints beyond 2^53, NaN/Infinity and lone surrogates."""
    if _plain(value):
        try:
            # The signature and patch_hash of every submission cover these bytes: the C encoder
            # is ~10x faster than the pure-Python RFC 8785 library on such values.
            return PLAIN_JSON_ENCODER.encode(value).encode("utf-8")
        except (UnicodeEncodeError, RecursionError):
            pass  # a lone surrogate or deep nesting: the library says what is wrong
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        raise CanonicalizationError(f"cannot canonicalize: {exc}") from exc
    except TypeError as exc:
        raise CanonicalizationError(f"not a JSON value: {exc}") from exc


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, 2026-11-25T20:31:10.123456Z: how event hashes see time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_text(value: Any) -> str:
    return canonical(value).decode("utf-8")


def sha256_hash(data: bytes) -> str:
    return HASH_PREFIX + hashlib.sha256(data).hexdigest()


def hash_of(value: Any) -> str:
    """`sha256:` + hex of SHA-256 over canonical(value)."""
    return sha256_hash(canonical(value))


def is_hash(text: object) -> bool:
    return (
        isinstance(text, str)
        and len(text) == 71
        and text.startswith(HASH_PREFIX)
        and all(c in "0123456789abcdef" for c in text[7:])
    )


def _refuse_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # json.loads turns 1e400 into inf, which no JSON value means; refuse rather than alter it.
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JSONInputError(f"number {text[:40]} is out of range for a double")
    return value


def _json_int(text: str) -> int | float:
    # Canonical text writes large doubles as plain digits (1e20 as "100000000000000000000");
    # digits that are exactly the canonical text of a double are read back as that double, so
    # canonical text always re-canonicalizes. Other big integers stay ints, which canonical()
    # refuses rather than round.
    value = int(text)
    if abs(value) <= MAX_SAFE_INTEGER:
        return value
    as_float = float(text)
    if math.isfinite(as_float) and rfc8785.dumps(as_float) == text.encode():
        return as_float
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A signed object with a duplicate key means different things to different parsers.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONInputError(f"duplicate key {key!r}")
        result[key] = value
    return result


def json_depth(value: Any) -> int:
    """Nesting depth without recursion (a scalar is 0, [] or {} is 1)."""
    depth = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            depth = max(depth, level + 1)
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            depth = max(depth, level + 1)
            stack.extend((child, level + 1) for child in item)
    return depth


# A JSON string (its escapes included), or an unterminated one running to the end; what is
# left once they are cut out are the brackets that nest.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _bracket_depth(text: str) -> int:
    # Checked before json.loads, whose recursion a deeply nested body could exhaust. Regular
    # expressions and accumulate, not a loop over characters: a 1 MiB body with many brackets
    # took 40 ms a character at a time, twice per submit (the envelope, then the patch).
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(0, max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0))


def parse_json(text: str | bytes, *, max_depth: int = 64) -> Any:
    """Parse strict JSON: no duplicate keys, no NaN/Infinity, nesting at most max_depth."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONInputError(f"not UTF-8: {exc}") from exc
    if text.count("[") + text.count("{") > max_depth and _bracket_depth(text) > max_depth:
        raise JSONInputError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_json_int,
        )
    except JSONInputError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise JSONInputError("nested too deeply") from exc
    except ValueError as exc:  # an integer with more digits than int() accepts
        raise JSONInputError(f"invalid JSON number: {exc}") from exc


# Built once: constructing a decoder per call costs more than the parse itself. Digits that
# are the canonical text of a double are read back as that double (see _json_int).
_STRICT_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_json_int)


def is_canonical(text: str) -> bool:
    """True when text is exactly the RFC 8785 canonical JSON of an object.

    Parses, canonicalizes again and compares: duplicate keys, NaN, whitespace, needless
    escapes, non-canonical numbers and ints beyond 2^53 all give different text (or none).
    """
    try:
        value = _STRICT_DECODER.decode(text)
        return isinstance(value, dict) and canonical(value).decode("utf-8") == text
    except (ValueError, RecursionError):  # CanonicalizationError is a ValueError
        return False
