"""Canonical JSON (RFC 8785 test vectors), strict parsing, and sha256 hashes."""

from __future__ import annotations

import math
import struct

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from patches.canonical import (
    ZERO_HASH,
    CanonicalizationError,
    JSONInputError,
    canonical,
    canonical_text,
    hash_of,
    is_hash,
    json_depth,
    parse_json,
)

# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
NUMBER_VECTORS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), NUMBER_VECTORS)
def test_numbers_serialize_as_rfc_8785_appendix_b_says(bits, text):
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical(value) == text.encode()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (-0.0, "0"),
        (0.000001, "0.000001"),
        (333333333.33333329, "333333333.3333333"),
        (9007199254740991, "9007199254740991"),
        (-9007199254740991, "-9007199254740991"),
        (1.0, "1"),
        (4.50, "4.5"),
        (1e30, "1e+30"),
        (True, "true"),
    ],
)
def test_familiar_numbers(value, text):
    assert canonical(value) == text.encode()


def test_the_rfc_8785_section_3_2_2_example():
    value = parse_json(
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    assert (
        canonical(value)
        == (
            '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
            '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
        ).encode()
    )


def test_keys_sort_by_utf16_code_units_as_in_rfc_8785_section_3_2_3():
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(parse_json(canonical(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    # Code point order would put the emoji (U+1F600) after U+FB33; UTF-16 puts its surrogates first.
    assert sorted(value) != keys


def test_strings_escape_only_what_rfc_8785_escapes():
    text = '\x00\x1f\x7f"\\/\U0001f600\u2028\b\f\n\r\t'
    assert canonical(text) == '"\\u0000\\u001f\x7f\\"\\\\/😀\u2028\\b\\f\\n\\r\\t"'.encode()


def test_nested_values_are_compact_and_sorted():
    assert (
        canonical_text([56, {"d": True, "10": None, "1": []}]) == '[56,{"1":[],"10":null,"d":true}]'
    )


@pytest.mark.parametrize(
    "value",
    [2**53, -(2**53), 10**30, math.nan, math.inf, -math.inf, "\ud800", {"\udc00": 1}, [b"bytes"]],
)
def test_it_refuses_what_rfc_8785_cannot_represent_exactly(value):
    with pytest.raises(CanonicalizationError):
        canonical(value)


def test_hashes_are_sha256_over_canonical_bytes():
    assert hash_of({"b": 1, "a": 2}) == hash_of({"a": 2.0, "b": 1})
    assert hash_of({}) == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert is_hash(ZERO_HASH) and is_hash(hash_of([]))
    assert not is_hash("sha256:" + "A" * 64) and not is_hash("sha1:00")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ("[NaN]", "NaN is not JSON"),
        ("[Infinity]", "Infinity is not JSON"),
        ("[-Infinity]", "-Infinity is not JSON"),
        ("[1e400]", "out of range"),
        ("[" + "9" * 5000 + "]", "invalid JSON number"),
        ("[1,]", "invalid JSON"),
        ("", "invalid JSON"),
        ("[" * 65 + "]" * 65, "nested deeper than 64 levels"),
        (b'"\xff"', "not UTF-8"),
    ],
)
def test_parse_json_is_strict(text, message):
    with pytest.raises(JSONInputError) as caught:
        parse_json(text)
    assert message in str(caught.value)


def test_parse_json_depth_ignores_brackets_inside_strings_and_allows_the_limit():
    assert parse_json('["' + "[" * 100 + '"]') == ["[" * 100]
    nested = "[" * 64 + "]" * 64
    assert json_depth(parse_json(nested)) == 64
    assert json_depth(parse_json('{"a": [1, {"b": 2}]}')) == 3


def test_parse_json_refuses_a_deeply_nested_body_without_recursing():
    with pytest.raises(JSONInputError):
        parse_json("[" * 200_000 + "]" * 200_000)


# Every kind of value canonical() may meet: the fast path (the C json encoder) and the RFC 8785
# library must give the same bytes, or both refuse.
_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | _TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_TEXT, children, max_size=5),
    max_leaves=20,
)


def _agrees_with_the_library(value: object) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, TypeError):
        with pytest.raises(CanonicalizationError):
            canonical(value)
    else:
        assert canonical(value) == expected


@settings(max_examples=400, deadline=None, database=None)
@given(_JSON_VALUES)
def test_the_fast_path_writes_what_the_rfc_8785_library_writes(value):
    _agrees_with_the_library(value)


@pytest.mark.parametrize(
    "value",
    [
        {"b": "\U0001f600", "a": ["\x00", "\u2028", "é", -(2**53) + 1, 2**53 - 1, True, None]},
        {"\ufb33": 1, "\u20ac": 2, "\x7f": 3},  # BMP keys: code point order is UTF-16 order
        ["\ud83d\ude00"],  # a surrogate pair written as two code points: not UTF-8
        {"n": 2**53},  # beyond 2^53: refused
    ],
)
def test_values_at_the_fast_paths_edges_agree_with_the_library(value):
    _agrees_with_the_library(value)
