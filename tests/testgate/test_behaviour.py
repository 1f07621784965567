"""Routing and policy content is evaluated as data, exactly as DESIGN.md's behaviour shapes say."""

from __future__ import annotations

import pytest

from patches.testgate.behaviour import BehaviourError, decide, route, words_of
from tests.factories import ROUTING

POLICY = {
    "default": "allow",
    "rules": [
        {
            "name": "big-refunds",
            "when": {"all": [{"field": "action", "eq": "refund"}, {"field": "amount", "gt": 500}]},
            "decision": "escalate",
        },
        {"name": "refunds", "when": {"field": "action", "eq": "refund"}, "decision": "review"},
    ],
}


def test_words_are_lowercased_runs_of_letters_digits_underscore_and_apostrophe():
    assert words_of("Refund my INVOICE-42, don't wait!") == {
        "refund",
        "my",
        "invoice",
        "42",
        "don't",
        "wait",
    }


def test_the_best_scoring_route_at_or_above_the_threshold_wins():
    assert route(ROUTING, "Where is my invoice?") == "billing"
    assert route(ROUTING, "The app shows an error") == "tech"


def test_below_the_threshold_the_default_route_is_taken():
    low = {**ROUTING, "threshold": 2.5}
    assert route(low, "I want a refund") == "general"
    assert route(ROUTING, "hello there") == "general"


def test_a_repeated_keyword_counts_once():
    rigged = {**ROUTING, "threshold": 3.0}
    assert route(rigged, "refund refund refund refund") == "general"


def test_route_weight_multiplies_the_keyword_sum():
    heavy = {
        **ROUTING,
        "routes": {**ROUTING["routes"], "tech": {"weight": 0.5, "keywords": {"invoice": 2.0}}},
    }
    # billing scores 2.0, tech 0.5 * 2.0 = 1.0
    assert route(heavy, "invoice") == "billing"


def test_ties_go_to_the_route_name_that_sorts_first():
    tied = {
        "default": "general",
        "threshold": 1.0,
        "routes": {
            "zeta": {"weight": 1.0, "keywords": {"help": 1.0}},
            "alpha": {"weight": 1.0, "keywords": {"help": 1.0}},
        },
    }
    assert route(tied, "help") == "alpha"


def test_malformed_routing_content_names_the_path():
    with pytest.raises(BehaviourError, match="/routes/billing/weight"):
        route({"default": "g", "routes": {"billing": {"weight": "x", "keywords": {}}}}, "hi")


def test_the_first_matching_policy_rule_decides():
    assert decide(POLICY, {"action": "refund", "amount": 900}) == "escalate"
    assert decide(POLICY, {"action": "refund", "amount": 20}) == "review"
    assert decide(POLICY, {"action": "lookup"}) == "allow"


def test_a_missing_field_makes_every_comparison_false_even_ne():
    policy = {
        "default": "allow",
        "rules": [{"name": "n", "when": {"field": "user.tier", "ne": "gold"}, "decision": "deny"}],
    }
    assert decide(policy, {"user": {}}) == "allow"
    assert decide(policy, {"user": {"tier": "silver"}}) == "deny"


def test_type_mismatches_are_false_and_never_raise():
    policy = {
        "default": "allow",
        "rules": [{"name": "n", "when": {"field": "amount", "gt": 500}, "decision": "deny"}],
    }
    assert decide(policy, {"amount": "900"}) == "allow"
    assert decide(policy, {"amount": True}) == "allow"
    assert decide(policy, {"amount": None}) == "allow"
    assert decide(policy, {"amount": 900.5}) == "deny"


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"field": "a", "eq": 1}, {"a": True}, False),
        ({"field": "a", "ne": "1"}, {"a": 1}, True),
        ({"field": "a", "ge": 3}, {"a": 3}, True),
        ({"field": "a", "lt": "b"}, {"a": "a"}, True),
        ({"field": "a", "le": 2}, {"a": 3}, False),
        ({"field": "a", "in": ["x", "y"]}, {"a": "y"}, True),
        ({"field": "a", "in": "xy"}, {"a": "x"}, False),
        ({"field": "a", "contains": "fun"}, {"a": "refund"}, True),
        ({"field": "a", "contains": 2}, {"a": [1, 2]}, True),
        ({"field": "a", "contains": 2}, {"a": 12}, False),
        ({"field": "a.0.b", "eq": 5}, {"a": [{"b": 5}]}, True),
        ({"any": [{"field": "a", "eq": 1}, {"field": "b", "eq": 2}]}, {"b": 2}, True),
        ({"not": {"field": "a", "eq": 1}}, {}, True),
        ({"all": []}, {}, True),
    ],
)
def test_conditions_compare_json_values(condition, context, expected):
    policy = {"default": "no", "rules": [{"name": "r", "when": condition, "decision": "yes"}]}
    assert (decide(policy, context) == "yes") is expected


def test_a_malformed_condition_names_its_path():
    policy = {
        "default": "a",
        "rules": [{"name": "r", "when": {"all": [{"field": "x", "gtt": 1}]}, "decision": "d"}],
    }
    with pytest.raises(BehaviourError, match="/rules/0/when/all/0"):
        decide(policy, {"x": 1})
