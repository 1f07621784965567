"""describe_json_patch: one readable line per JSON Patch operation."""

from __future__ import annotations

import json

from console.diffs import describe_json_patch
from tests.factories import ROUTING


def texts(base: object, operations: list[dict[str, object]]) -> list[str]:
    return [line.text for line in describe_json_patch(base, json.dumps(operations))]


def test_replace_shows_the_old_and_new_value() -> None:
    assert texts(ROUTING, [{"op": "replace", "path": "/routes/billing/weight", "value": 0.45}]) == [
        "/routes/billing/weight: 1.0 → 0.45"
    ]


def test_add_remove_move_copy_and_test_read_as_sentences() -> None:
    base = {"tools": [{"name": "a"}, {"name": "b"}, {"name": "c"}], "x": 1}
    lines = texts(
        base,
        [
            {"op": "add", "path": "/routes", "value": {"weight": 1}},
            {"op": "remove", "path": "/tools/2"},
            {"op": "move", "from": "/x", "path": "/y"},
            {"op": "copy", "from": "/y", "path": "/z"},
            {"op": "test", "path": "/z", "value": 1},
        ],
    )
    assert lines == [
        'add /routes: {"weight": 1}',
        'remove /tools/2 (was {"name": "c"})',
        "move /x → /y",
        "copy /y → /z",
        "test /z == 1",
    ]


def test_later_operations_see_earlier_ones() -> None:
    lines = texts(
        {"a": 1},
        [{"op": "replace", "path": "/a", "value": 2}, {"op": "replace", "path": "/a", "value": 3}],
    )
    assert lines == ["/a: 1 → 2", "/a: 2 → 3"]


def test_an_operation_that_does_not_apply_is_marked_and_so_are_the_rest() -> None:
    lines = describe_json_patch(
        {"a": 1},
        json.dumps([{"op": "remove", "path": "/missing"}, {"op": "add", "path": "/b", "value": 1}]),
    )
    assert [line.ok for line in lines] == [False, False]
    assert "does not apply" in lines[0].text


def test_long_values_are_shortened() -> None:
    [line] = texts({}, [{"op": "add", "path": "/p", "value": "x" * 500}])
    assert len(line) < 140 and line.endswith("…")


def test_a_patch_that_is_not_a_json_array_says_so() -> None:
    assert not describe_json_patch({}, "{oops")[0].ok
    assert describe_json_patch({}, "{}")[0].text == "a JSON Patch is an array of operations"
