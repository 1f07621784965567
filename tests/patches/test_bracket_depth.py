"""The nesting check before parsing: brackets inside strings do not count, big bodies are cheap."""

from __future__ import annotations

import json
import random

import pytest

from patches.canonical import JSONInputError, _bracket_depth, json_depth, parse_json

TRICKY = ["[", "]", "{", "}", '"', "\\", '\\"', "\\\\", "é", "\n", "x"]


def _value(rng: random.Random, depth: int) -> object:
    if depth == 0 or rng.random() < 0.3:
        return "".join(rng.choice(TRICKY) for _ in range(rng.randrange(0, 6)))
    if rng.random() < 0.5:
        return [_value(rng, depth - 1) for _ in range(rng.randrange(0, 4))]
    return {
        "".join(rng.choice(TRICKY) for _ in range(rng.randrange(0, 4))) + str(n): _value(
            rng, depth - 1
        )
        for n in range(rng.randrange(0, 4))
    }


@pytest.mark.parametrize("seed", range(300))
def test_the_depth_is_the_nesting_of_the_value_whatever_its_strings_hold(seed):
    rng = random.Random(seed)
    value = _value(rng, rng.randrange(0, 8))
    text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
    expected = json_depth(value) if isinstance(value, list | dict) else 0
    assert _bracket_depth(text) == expected


def test_an_unterminated_string_hides_the_brackets_after_it():
    assert _bracket_depth('[["abc[[[[') == 2
    assert _bracket_depth('["a\\') == 1


def test_a_body_with_a_big_string_and_many_small_objects_is_still_refused_when_too_deep():
    patch = [{"op": "add", "path": "/s", "value": "[" * 10_000}]
    patch += [{"op": "copy", "from": "/s", "path": f"/c{n}"} for n in range(1_000)]
    assert len(parse_json(json.dumps(patch))) == 1_001
    with pytest.raises(JSONInputError, match="nested deeper than 64 levels"):
        parse_json(
            json.dumps(patch).replace('"/c999"}]', '"/c999", "x": ' + "[" * 70 + "]" * 70 + "}]")
        )
