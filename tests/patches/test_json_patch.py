"""RFC 6902 JSON Patch: operations, the library's quirks, limits, and made patches."""

from __future__ import annotations

import json

import pytest

from patches.canonical import canonical, parse_json
from patches.formats.errors import PatchError
from patches.formats.json_patch import (
    MAX_COPIED_NODES,
    MAX_OPERATIONS,
    apply_json_patch,
    json_equal,
    make_json_patch,
)


def apply(base, operations):
    return apply_json_patch(base, json.dumps(operations))


def error_of(base, operations) -> str:
    with pytest.raises(PatchError) as caught:
        apply_json_patch(
            base, operations if isinstance(operations, str) else json.dumps(operations)
        )
    return str(caught.value)


def test_it_applies_every_operation():
    base = {"a": 1, "list": [1, 2], "nested": {"x": True}}
    operations = [
        {"op": "test", "path": "/a", "value": 1},
        {"op": "add", "path": "/b", "value": {"c": [3]}},
        {"op": "remove", "path": "/nested/x"},
        {"op": "replace", "path": "/a", "value": "one"},
        {"op": "move", "from": "/b/c", "path": "/moved"},
        {"op": "copy", "from": "/list", "path": "/copied"},
    ]
    assert apply(base, operations) == {
        "a": "one", "list": [1, 2], "nested": {}, "b": {}, "moved": [3], "copied": [1, 2],
    }  # fmt: skip


def test_it_never_modifies_the_base():
    base = {"list": [1, 2]}
    apply(base, [{"op": "add", "path": "/list/-", "value": 3}])
    assert base == {"list": [1, 2]}


def test_dash_appends_to_an_array_but_names_no_element_for_other_ops():
    assert apply({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}]) == {"a": [1, 2]}
    assert error_of({"a": [1]}, [{"op": "remove", "path": "/a/-"}]).startswith(
        "operation 0 (remove"
    )
    assert "operation 0" in error_of({"a": [1]}, [{"op": "replace", "path": "/a/-", "value": 0}])
    assert "'-' names no element" in error_of(
        {"a": [1]}, [{"op": "test", "path": "/a/-", "value": 1}]
    )


def test_numeric_keys_name_object_members_and_strict_array_indexes():
    assert apply({"a": {"0": 1}}, [{"op": "replace", "path": "/a/0", "value": 2}]) == {
        "a": {"0": 2}
    }
    assert "not a valid sequence index" in error_of(
        {"a": [1, 2]}, [{"op": "replace", "path": "/a/01", "value": 0}]
    )
    assert "outside of list" in error_of({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 0}])


def test_it_refuses_to_move_a_value_into_its_own_child():
    message = error_of({"a": {"b": {}}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}])
    assert message.startswith(
        "operation 0 (move '/a/b/c'): Cannot move values into their own children"
    )


def test_the_root_path_replaces_the_whole_document_and_cannot_be_removed():
    assert apply({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]) == {"b": 2}
    assert apply({"a": 1}, [{"op": "add", "path": "", "value": {"c": 3}}]) == {"c": 3}
    assert "whole document" in error_of({"a": 1}, [{"op": "remove", "path": ""}])


def test_test_compares_json_types_strictly_at_every_depth():
    assert "test failed" in error_of({"a": 1}, [{"op": "test", "path": "/a", "value": True}])
    assert "test failed" in error_of({"a": [1]}, [{"op": "test", "path": "/a", "value": [True]}])
    assert "test failed" in error_of(
        {"a": {"x": 0}}, [{"op": "test", "path": "/a", "value": {"x": False}}]
    )
    assert apply({"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}]) == {"a": 1}
    assert json_equal({"k": [1, {"z": None}]}, {"k": [1.0, {"z": None}]})


def test_errors_name_the_failing_operation():
    operations = [
        {"op": "add", "path": "/b", "value": 2},
        {"op": "remove", "path": "/missing"},
    ]
    assert error_of({"a": 1}, operations).startswith("operation 1 (remove '/missing'):")
    assert error_of({"a": 1}, [{"op": "add", "path": "a", "value": 1}]).startswith(
        "operation 0 (add 'a'): bad pointer"
    )
    assert "invalid escape" in error_of({}, [{"op": "add", "path": "/~2", "value": 1}])


@pytest.mark.parametrize(
    ("operations", "message"),
    [
        ('{"op": "add"}', "a JSON Patch is an array of operations"),
        ("[1]", "operation 0: an operation is an object"),
        ('[{"op": "delete", "path": "/a"}]', "unknown op 'delete'"),
        ('[{"op": "add", "path": 3, "value": 1}]', "'path' must be a JSON Pointer string"),
        ('[{"op": "replace", "path": "/a"}]', "'replace' needs a 'value'"),
        ('[{"op": "move", "path": "/a"}]', "'move' needs a 'from' pointer"),
        ("[{]", "patch is not JSON"),
        ('[{"op": "add", "op": "remove", "path": "/a"}]', "duplicate key 'op'"),
        ('[{"op": "add", "path": "/a", "value": NaN}]', "NaN is not JSON"),
    ],
)
def test_it_refuses_malformed_patch_documents(operations, message):
    assert message in error_of({"a": 1}, operations)


def test_it_refuses_too_many_operations():
    operations = [{"op": "test", "path": "", "value": {}}] * (MAX_OPERATIONS + 1)
    assert f"at most {MAX_OPERATIONS} operations" in error_of({}, operations)


def test_self_copies_cannot_blow_up_the_document():
    operations = [{"op": "copy", "from": "", "path": f"/k{n}"} for n in range(40)]
    message = error_of({"seed": list(range(10))}, operations)
    assert f"copies more than {MAX_COPIED_NODES} JSON nodes" in message


def test_moves_cannot_nest_the_document_deeper_than_the_limit():
    operations = [{"op": "add", "path": "/n", "value": {}}]
    for _ in range(80):
        operations += [
            {"op": "add", "path": "/tmp", "value": {}},
            {"op": "move", "from": "/n", "path": "/tmp/n"},
            {"op": "move", "from": "/tmp", "path": "/n"},
        ]
    assert "nests deeper than 64 levels" in error_of({}, operations)


def test_make_gives_an_empty_patch_for_equal_values():
    assert make_json_patch({"a": 1.0}, {"a": 1}) == "[]"


def test_make_sees_a_number_turn_into_a_boolean():
    patch = make_json_patch({"a": 1, "b": [0]}, {"a": True, "b": [False]})
    assert canonical(apply_json_patch({"a": 1, "b": [0]}, patch)) == canonical(
        {"a": True, "b": [False]}
    )


def test_make_writes_canonical_json_that_applies():
    old = {"z": [1, 2, 3], "name": "x"}
    new = {"z": [3, 1, 2], "name": "y", "extra": {"€": 1}}
    patch = make_json_patch(old, new)
    assert patch.encode() == canonical(parse_json(patch))
    assert apply_json_patch(old, patch) == new
