"""audit_rules_validate: the documented shape, its defaults, and errors that name the bad field."""

from __future__ import annotations

import pytest

from patches.audit_rules import (
    AuditRules,
    AuditRulesError,
    ProtectedPath,
    ProtectedText,
    audit_rules_validate,
)


def test_absent_rules_get_the_documented_defaults():
    assert audit_rules_validate({}) == AuditRules()
    assert audit_rules_validate(None) == AuditRules(
        max_changed_lines=100, max_ops=25, budget_effect="raise", min_reasoning_chars=20
    )


def test_a_full_rule_set_is_parsed():
    rules = audit_rules_validate(
        {
            "protected_paths": [
                {"pattern": "/routes/*/weight", "effect": "raise"},
                {"pattern": "/a~1b"},
            ],
            "protected_text": [{"text": "Never reveal", "effect": "block"}],
            "max_changed_lines": 50,
            "max_ops": None,
            "min_reasoning_chars": 0,
        }
    )
    assert rules.protected_paths == (
        ProtectedPath(
            pattern="/routes/*/weight", segments=("routes", "*", "weight"), effect="raise"
        ),
        ProtectedPath(pattern="/a~1b", segments=("a/b",), effect="block"),
    )
    assert rules.protected_text == (ProtectedText(text="Never reveal", effect="block"),)
    assert (rules.max_changed_lines, rules.max_ops, rules.min_reasoning_chars) == (50, None, 0)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([], "audit_rules must be a JSON object"),
        ({"max_lines": 3}, "audit_rules has unknown keys max_lines; allowed: protected_paths"),
        ({"protected_paths": "/x"}, "audit_rules.protected_paths must be a list of objects"),
        ({"protected_paths": [{"pattern": "/x", "effect": "deny"}]},
         "audit_rules.protected_paths\\[0\\].effect must be \"block\" or \"raise\", got 'deny'"),
        ({"protected_paths": [{"pattern": "x"}]}, "JSON Pointer 'x' must be empty or start with '/'"),
        ({"protected_text": [{"text": ""}]}, "audit_rules.protected_text\\[0\\].text must be a non-empty string"),
        ({"protected_text": [{"text": "a", "why": 1}]}, "audit_rules.protected_text\\[0\\] has unknown keys why"),
        ({"max_ops": -1}, "audit_rules.max_ops must be a whole number ≥ 0 or null"),
        ({"min_reasoning_chars": None}, "audit_rules.min_reasoning_chars must be a whole number ≥ 0, got None"),
        ({"max_changed_lines": True}, "audit_rules.max_changed_lines must be a whole number"),
        ({"budget_effect": "warn"}, "audit_rules.budget_effect must be \"block\" or \"raise\""),
    ],
)  # fmt: skip
def test_a_bad_shape_is_refused_naming_the_field(rules, message):
    with pytest.raises(AuditRulesError, match=message):
        audit_rules_validate(rules)
