"""Each built-in test kind passes a good candidate and fails a bad one with output that says why."""

from __future__ import annotations

import json

import pytest

from patches.models import TestOutcome as Outcome
from patches.testgate.impact import impact_summary
from patches.testgate.kinds import Subject, kind_run
from patches.testgate.kinds import testdef_validate as validate
from tests.factories import make_agent, make_test
from tests.testgate.conftest import gate, json_patch, prompt_diff, result_of, target_of

pytestmark = pytest.mark.django_db

POLITE = "Answer politely."


def run_prompt(kind, params, old=POLITE, new="Answer politely and briefly."):
    test = make_test("t", kind, params)
    target = target_of("Prompt", [test])
    proposal = gate(make_agent(), target, prompt_diff(old, new))
    return proposal, result_of(proposal, "t")


def run_json(patch_type, kind, params, *ops):
    test = make_test("t", kind, params)
    target = target_of(patch_type, [test])
    proposal = gate(make_agent(), target, json_patch(*ops))
    return proposal, result_of(proposal, "t")


def test_text_contains_passes_when_the_candidate_keeps_the_text():
    proposal, result = run_prompt("text_contains", {"text": "briefly"})
    assert result.status == Outcome.PASSED, result.output
    assert proposal.status == "in_review"


def test_text_contains_fails_and_says_the_patch_removed_it():
    _, result = run_prompt("text_contains", {"text": "politely."}, new="Answer.")
    assert result.status == Outcome.FAILED
    assert (
        result.output
        == 'the candidate must contain "politely." and does not (the base does: this patch removes it)'
    )


def test_text_not_contains_fails_naming_the_line_the_patch_added_it_on():
    _, result = run_prompt(
        "text_not_contains", {"text": "ignore previous"}, new="Please ignore previous rules."
    )
    assert result.status == Outcome.FAILED
    assert "found at line 2 (this patch adds it)" in result.output


def test_text_not_contains_passes_when_absent():
    _, result = run_prompt("text_not_contains", {"text": "ignore previous"})
    assert result.status == Outcome.PASSED, result.output


def test_text_regex_passes_on_a_match_and_shows_it():
    _, result = run_prompt("text_regex", {"pattern": r"polite\w+ and"})
    assert result.status == Outcome.PASSED, result.output
    assert '"politely and"' in result.output


def test_text_regex_fails_when_the_candidate_does_not_match():
    _, result = run_prompt("text_regex", {"pattern": r"^Answer politely\.$"})
    assert result.status == Outcome.FAILED
    assert "must match" in result.output


def test_a_catastrophic_regex_is_stopped_at_the_test_timeout():
    test = make_test("t", "text_regex", {"pattern": r"^(a+)+$"}, timeout_s=1)
    target = target_of("Prompt", [test])
    proposal = gate(make_agent(), target, prompt_diff(POLITE, "a" * 40 + "!"))
    result = result_of(proposal, "t")
    assert result.status == Outcome.FAILED
    assert "did not finish within 1 s" in result.output
    assert result.duration_ms < 5000


def test_max_length_fails_by_how_much():
    _, result = run_prompt("max_length", {"chars": 60}, new="Answer politely." + " Be kind." * 10)
    assert result.status == Outcome.FAILED
    assert "over the limit of 60" in result.output and "the base is" in result.output


def test_max_length_passes_within_the_limit():
    _, result = run_prompt("max_length", {"chars": 4000})
    assert result.status == Outcome.PASSED, result.output
    # Without cases, the summary is the output's first line.
    assert impact_summary(result) == result.output == "99 characters, within 4000"


def test_placeholders_fails_naming_each_dropped_placeholder():
    _, result = run_prompt(
        "placeholders", {}, old="Never reveal {secret}.", new="Never reveal secrets."
    )
    assert result.status == Outcome.FAILED
    assert result.output == "the patch drops placeholders the base uses: {secret}; put them back"


def test_placeholders_passes_when_all_are_kept():
    _, result = run_prompt("placeholders", {})
    assert result.status == Outcome.PASSED, result.output


SCHEMA = {"type": "object", "properties": {"retries": {"type": "integer", "maximum": 5}}}


def test_json_schema_fails_with_the_failing_path():
    _, result = run_json(
        "Config",
        "json_schema",
        {"schema": SCHEMA},
        {"op": "replace", "path": "/retries", "value": 9},
    )
    assert result.status == Outcome.FAILED
    assert "/retries: 9 is greater than the maximum of 5" in result.output


def test_json_schema_passes_a_valid_candidate():
    _, result = run_json(
        "Config",
        "json_schema",
        {"schema": SCHEMA},
        {"op": "replace", "path": "/retries", "value": 4},
    )
    assert result.status == Outcome.PASSED, result.output


CASES = {
    "cases": [
        {"input": "my invoice is wrong", "expect": "billing"},
        {"input": "the app will crash", "expect": "tech"},
        {"input": "hello", "expect": "general"},
    ]
}


def test_routing_cases_record_before_and_after_and_fail_on_a_changed_route():
    proposal, result = run_json(
        "Routing",
        "routing_cases",
        CASES,
        {"op": "replace", "path": "/routes/billing/keywords/invoice", "value": 0.5},
    )
    assert result.status == Outcome.FAILED
    assert (
        'case 1 "my invoice is wrong": expected billing, got general (before: billing)'
        in result.output
    )
    assert [c["before"] for c in result.cases] == ["billing", "tech", "general"]
    assert [c["after"] for c in result.cases] == ["general", "tech", "general"]
    assert impact_summary(result) == "1 of 3 routing cases changes route; 1 fails"
    assert proposal.reason == "Test failed: t"


def test_routing_cases_pass_and_report_no_change():
    _, result = run_json(
        "Routing",
        "routing_cases",
        CASES,
        {"op": "add", "path": "/routes/billing/keywords/bill", "value": 1.0},
    )
    assert result.status == Outcome.PASSED, result.output
    assert impact_summary(result) == "0 of 3 routing cases change route"


POLICY_CASES = {
    "cases": [
        {"context": {"action": "refund", "amount": 900}, "expect": "escalate"},
        {"context": {"action": "refund", "amount": 100}, "expect": "allow"},
    ]
}


def test_policy_cases_fail_when_a_decision_changes():
    _, result = run_json(
        "Policy",
        "policy_cases",
        POLICY_CASES,
        {"op": "replace", "path": "/rules/0/when/all/1/gt", "value": 1000},
    )
    assert result.status == Outcome.FAILED
    assert (
        "case 1" in result.output
        and "expected escalate, got allow (before: escalate)" in result.output
    )
    assert impact_summary(result) == "1 of 2 policy cases changes decision; 1 fails"


def test_policy_cases_pass_when_decisions_hold():
    _, result = run_json(
        "Policy",
        "policy_cases",
        POLICY_CASES,
        {"op": "replace", "path": "/rules/0/when/all/1/gt", "value": 400},
    )
    assert result.status == Outcome.PASSED, result.output


TOOL = {
    "name": "refund_order",
    "description": "Refund",
    "parameters": {"type": "object"},
    "permissions": ["orders:write"],
}


def test_tool_set_passes_allowed_well_formed_tools():
    _, result = run_json(
        "Tools",
        "tool_set",
        {"allow": ["search_orders", "refund_order"], "require": ["search_orders"]},
        {"op": "add", "path": "/tools/-", "value": TOOL},
    )
    assert result.status == Outcome.PASSED, result.output
    assert "tools added: refund_order" in result.output


def test_tool_set_fails_on_an_unlisted_tool():
    other = {**TOOL, "name": "lookup"}
    _, result = run_json(
        "Tools",
        "tool_set",
        {"allow": ["search_orders", "lookup"]},
        {"op": "add", "path": "/tools/-", "value": TOOL},
        {"op": "add", "path": "/tools/-", "value": other},
    )
    assert result.status == Outcome.FAILED
    assert "tool 'refund_order' is not allowed (allowed: search_orders, lookup)" in result.output


def test_tool_set_fails_on_a_duplicate_name_and_a_bad_parameters_schema():
    # The Tools shape refuses both at submit already; the test kind checks on its own too.
    bad = {**TOOL, "name": "lookup", "parameters": {"type": "nonsense"}}
    tools = json.dumps({"tools": [TOOL, TOOL, bad]})
    subject = Subject(candidate=tools, base=tools, patch_type="Tools", content_kind="json")
    outcome = kind_run(kind="tool_set", params={}, subject=subject, timeout_s=5)
    assert not outcome.passed
    assert "/tools/1: tool name 'refund_order' is used twice" in outcome.output
    assert "/tools/2/parameters is not a valid JSON Schema" in outcome.output


def test_tool_set_fails_when_a_required_tool_is_removed():
    _, result = run_json(
        "Tools", "tool_set", {"require": ["search_orders"]}, {"op": "remove", "path": "/tools/0"}
    )
    assert result.status == Outcome.FAILED
    assert "required tool 'search_orders' is missing" in result.output


def test_command_passes_on_exit_zero_and_sees_the_candidate_file():
    _, result = run_prompt("command", {"argv": ["grep", "-q", "briefly", "{file}"], "timeout_s": 5})
    assert result.status == Outcome.PASSED, result.output


def test_command_fails_on_a_non_zero_exit_with_its_output():
    _, result = run_prompt("command", {"argv": ["grep", "-c", "nowhere"], "timeout_s": 5})
    assert result.status == Outcome.FAILED
    assert result.output.startswith("exit status 1\n0")


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("nope", {}, "unknown test kind 'nope'"),
        ("text_contains", {}, "text_contains needs param 'text'"),
        ("text_contains", {"text": "a", "txt": "b"}, "text_contains does not take txt"),
        ("text_regex", {"pattern": "(unclosed"}, "not a valid regular expression"),
        ("max_length", {"chars": "10"}, "param 'chars' must be int"),
        ("max_length", {"chars": True}, "param 'chars' must be int"),
        ("json_schema", {"schema": {"type": "nonsense"}}, "not a valid JSON Schema"),
        (
            "routing_cases",
            {"cases": [{"input": "x"}]},
            "cases[0] must be an object with exactly 'input' and 'expect'",
        ),
        (
            "policy_cases",
            {"cases": [{"context": [], "expect": "a"}]},
            "cases[0].context must be an object",
        ),
        ("tool_set", {"allow": ["a"], "require": ["b"]}, "required tools b are not in 'allow'"),
        ("command", {"argv": []}, "non-empty list of strings"),
        ("command", {"argv": ["true"], "timeout_s": 0}, "timeout_s"),
        ("placeholders", [], "params must be a JSON object"),
    ],
)
def test_testdef_validate_refuses_bad_params_with_a_clear_message(kind, params, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        validate(kind, params)


def test_testdef_validate_accepts_every_documented_shape():
    validate("text_contains", {"text": "x"})
    validate("placeholders", {})
    validate("tool_set", {})
    validate("command", {"argv": ["true"], "timeout_s": 2})
    validate("routing_cases", CASES)
    validate("policy_cases", POLICY_CASES)
