"""Behaviour data shapes: each patch type's JSON Schema, and a target's own schema."""

from __future__ import annotations

import copy

import pytest

from patches.patch_types import patch_type_spec
from patches.shapes import ContentError

ROUTING = {
    "default": "general",
    "threshold": 1.0,
    "routes": {"billing": {"weight": 1.0, "keywords": {"invoice": 2.0, "refund": 1.5}}},
}
POLICY = {
    "default": "allow",
    "rules": [
        {
            "name": "big-refunds",
            "when": {"all": [{"field": "action", "eq": "refund"}, {"field": "amount", "gt": 500}]},
            "decision": "escalate",
        },
        {
            "name": "nested",
            "when": {"any": [{"not": {"field": "user.tier", "in": ["gold"]}},
                             {"field": "tags", "contains": "vip"}]},
            "decision": "review",
        },
    ],
}  # fmt: skip
TOOLS = {
    "tools": [
        {
            "name": "search_orders",
            "description": "Find orders.",
            "parameters": {"type": "object", "properties": {"email": {"type": "string"}}},
            "permissions": ["orders:read"],
        }
    ]
}
VALID = {"Routing": ROUTING, "Policy": POLICY, "Tools": TOOLS, "Config": {"anything": [1, "x"]}}


def error_of(patch_type: str, value, schema=None) -> str:
    with pytest.raises(ContentError) as caught:
        patch_type_spec(patch_type).content_check(value, schema=schema)
    return str(caught.value)


def changed(value, edit):
    value = copy.deepcopy(value)
    edit(value)
    return value


@pytest.mark.parametrize("patch_type", sorted(VALID))
def test_the_design_examples_have_their_types_shape(patch_type):
    patch_type_spec(patch_type).content_check(VALID[patch_type])


def test_routing_refuses_a_negative_weight_and_a_keyword_weight_that_is_not_a_number():
    negative = changed(ROUTING, lambda v: v["routes"]["billing"].update(weight=-1))
    assert error_of("Routing", negative).startswith("Routing shape at /routes/billing/weight:")
    text = changed(ROUTING, lambda v: v["routes"]["billing"]["keywords"].update(refund="2"))
    assert error_of("Routing", text).startswith("Routing shape at /routes/billing/keywords/refund:")


def test_routing_refuses_a_misspelt_key_and_a_missing_default():
    assert "'treshold' was unexpected" in error_of("Routing", {**ROUTING, "treshold": 2})
    missing = {k: v for k, v in ROUTING.items() if k != "default"}
    assert "'default' is a required property" in error_of("Routing", missing)


def test_policy_refuses_an_unknown_comparison_and_names_its_path():
    bad = changed(POLICY, lambda v: v["rules"][0]["when"]["all"][1].update(gte=1))
    message = error_of("Policy", bad)
    assert message.startswith("Policy shape at /rules/0/when/all/1:")


def test_policy_refuses_a_comparison_without_exactly_one_operator():
    none = changed(POLICY, lambda v: v["rules"][0].update(when={"field": "amount"}))
    two = changed(POLICY, lambda v: v["rules"][0].update(when={"field": "a", "eq": 1, "ne": 2}))
    for value in (none, two):
        assert 'a comparison has "field" and exactly one of eq' in error_of("Policy", value)


def test_policy_conditions_are_checked_at_any_depth():
    deep = changed(
        POLICY, lambda v: v["rules"][1]["when"]["any"][0]["not"].update(field="user..tier")
    )
    assert error_of("Policy", deep).startswith("Policy shape at /rules/1/when/any/0/not/field:")
    not_list = changed(POLICY, lambda v: v["rules"][0].update(when={"all": {"field": "a"}}))
    assert "is not of type 'array'" in error_of("Policy", not_list)
    bad_in = changed(POLICY, lambda v: v["rules"][0].update(when={"field": "a", "in": "gold"}))
    assert error_of("Policy", bad_in).startswith("Policy shape at /rules/0/when/in:")


def test_policy_refuses_a_rule_without_a_decision_and_duplicate_rule_names():
    no_decision = changed(POLICY, lambda v: v["rules"][0].pop("decision"))
    assert "'decision' is a required property" in error_of("Policy", no_decision)
    duplicate = changed(POLICY, lambda v: v["rules"][1].update(name="big-refunds"))
    assert error_of("Policy", duplicate) == (
        "Policy shape at /rules/1/name: duplicate rule name 'big-refunds' (also at /rules/0)"
    )


def test_tools_refuses_duplicate_names():
    duplicate = changed(TOOLS, lambda v: v["tools"].append(copy.deepcopy(v["tools"][0])))
    assert error_of("Tools", duplicate) == (
        "Tools shape at /tools/1/name: duplicate tool name 'search_orders' (also at /tools/0)"
    )


def test_tools_refuses_parameters_that_are_not_a_json_schema_and_names_the_tool():
    bad = changed(TOOLS, lambda v: v["tools"][0]["parameters"].update(type="objekt"))
    message = error_of("Tools", bad)
    assert message.startswith("Tools shape at /tools/0/parameters:")
    assert "'search_orders'" in message


def test_tools_refuses_a_tool_without_permissions():
    bad = changed(TOOLS, lambda v: v["tools"][0].pop("permissions"))
    assert "'permissions' is a required property" in error_of("Tools", bad)


def test_config_is_any_object_and_the_target_schema_constrains_it():
    assert error_of("Config", [1]).startswith("Config shape at /:")
    schema = {"type": "object", "properties": {"temperature": {"type": "number", "maximum": 1}}}
    patch_type_spec("Config").content_check({"temperature": 0.5}, schema=schema)
    assert error_of("Config", {"temperature": 2}, schema).startswith(
        "target schema at /temperature:"
    )


def test_a_broken_target_schema_is_reported_not_crashed_on():
    assert "not a valid JSON Schema" in error_of("Config", {}, {"type": "strin"})
    assert "cannot be resolved" in error_of("Config", {}, {"$ref": "https://example.com/s.json"})
    assert "$ref loop" in error_of("Config", {"a": 1}, {"$ref": "#"})


def test_json_pointer_paths_escape_slashes_and_tildes():
    bad = {**ROUTING, "routes": {"a/b~c": {"keywords": {"x": "1"}}}}
    assert error_of("Routing", bad).startswith("Routing shape at /routes/a~1b~0c/keywords/x:")


def test_prompt_content_is_not_json():
    assert "not JSON" in error_of("Prompt", {})
