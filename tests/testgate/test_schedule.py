"""Which tests a proposal runs: its target's mandatory tests, then those it names among the tests
the target offers; any other name is refused the same way, whether or not such a test exists."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from patches.models import Event, Proposal, TestResult
from patches.submit import SubmitRefused
from patches.testgate.schedule import UnknownTestError, resolve_tests
from tests.factories import (
    canonical_body,
    counts,
    make_agent,
    make_target,
    make_test,
    proposal_body,
    signed_envelope,
)
from tests.testgate.conftest import gate, prompt_diff, submit, target_of

pytestmark = pytest.mark.django_db
PATCH = prompt_diff("Answer politely.", "Answer politely and briefly.")


@pytest.fixture
def persona():
    return make_agent()


@pytest.fixture
def prompt_target():
    """A target with one mandatory test and one test it offers; other tests exist elsewhere."""
    target = target_of("Prompt", [make_test("keeps-placeholders", "placeholders", {})])
    target.offered_tests.add(make_test("short", "max_length", {"chars": 4000}))
    return target


def names_run(proposal: Proposal) -> list[str]:
    return list(proposal.test_run.results.order_by("position").values_list("name", flat=True))


def refusal(persona, target, requested: list[str]) -> str:
    before = counts()
    with pytest.raises(SubmitRefused) as caught:
        submit(persona, target, PATCH, requested=requested)
    assert caught.value.problem == "unknown-test"
    assert counts() == before
    return str(caught.value)


def test_an_agent_may_name_a_test_its_target_offers(persona, prompt_target):
    proposal = gate(persona, prompt_target, PATCH, requested=["short"])
    assert names_run(proposal) == ["keeps-placeholders", "short"]
    assert proposal.status == "in_review"


def test_naming_a_mandatory_test_runs_it_once(persona, prompt_target):
    proposal = gate(persona, prompt_target, PATCH, requested=["keeps-placeholders", "short"])
    assert names_run(proposal) == ["keeps-placeholders", "short"]


def test_an_agent_cannot_name_a_command_test_configured_for_another_target(persona, prompt_target):
    # An admin's command test guards another target; it must never run on this one because
    # an agent asked for it.
    command = make_test("release-check", "command", {"argv": ["true"], "timeout_s": 5})
    make_target(name="other_prompt", tests=[command.name])
    message = refusal(persona, prompt_target, ["release-check"])
    assert message == (
        "test release-check is not offered by target prompt-target "
        "(it offers: keeps-placeholders, short)"
    )
    assert not TestResult.objects.filter(name="release-check").exists()


def test_an_agent_cannot_name_a_fitting_test_its_target_does_not_offer(persona, prompt_target):
    make_test("mentions-company", "text_contains", {"text": "{company}"})
    assert refusal(persona, prompt_target, ["mentions-company"]) == (
        "test mentions-company is not offered by target prompt-target "
        "(it offers: keeps-placeholders, short)"
    )


def test_the_refusal_is_the_same_whether_the_named_test_exists_or_not(persona, prompt_target):
    make_test("secret-audit", "command", {"argv": ["true"], "timeout_s": 5})
    existing = refusal(persona, prompt_target, ["secret-audit"])
    missing = refusal(persona, prompt_target, ["secret-audix"])
    assert existing.replace("secret-audit", "NAME") == missing.replace("secret-audix", "NAME")


def test_several_names_not_offered_are_each_named(persona, prompt_target):
    make_test("exists", "placeholders", {})
    assert refusal(persona, prompt_target, ["short", "exists", "ghost"]) == (
        "tests exists, ghost are not offered by target prompt-target "
        "(it offers: keeps-placeholders, short)"
    )


def test_a_target_that_offers_nothing_says_so(persona):
    target = target_of("Prompt")
    make_test("exists", "placeholders", {})
    assert refusal(persona, target, ["exists"]) == (
        "test exists is not offered by target prompt-target (it offers no tests)"
    )


def test_a_command_test_offered_by_the_target_runs_when_named(persona, prompt_target):
    command = make_test("lint", "command", {"argv": ["sh", "-c", "cat >/dev/null", "sh"]})
    prompt_target.offered_tests.add(command)
    proposal = gate(persona, prompt_target, PATCH, requested=["lint"])
    assert names_run(proposal) == ["keeps-placeholders", "lint"]
    assert proposal.test_run.results.get(name="lint").status == "passed"


def test_an_offered_test_of_another_patch_type_is_refused(prompt_target):
    prompt_target.offered_tests.add(make_test("json-only", "json_schema", patch_types=["Config"]))
    with pytest.raises(UnknownTestError, match="tests json-only do not apply to Prompt targets"):
        resolve_tests(target=prompt_target, requested=["json-only"])


def test_the_api_answers_the_same_problem_for_an_existing_and_a_missing_test(
    persona, prompt_target
):
    make_test("secret-audit", "command", {"argv": ["true"], "timeout_s": 5})
    client = Client()

    def detail(name: str) -> dict:
        body = proposal_body(target=prompt_target, patch=PATCH, test_requirements=[name])
        response = client.post(
            "/api/v1/proposals",
            data=canonical_body(signed_envelope(persona, body)),
            content_type="application/json",
            **persona.auth,
        )
        assert response.status_code == 422, response.content
        problem = json.loads(response.content)
        return {**problem, "detail": problem["detail"].replace(name, "NAME")}

    before = Event.objects.count()
    assert detail("secret-audit") == detail("secret-audix")
    assert Event.objects.count() == before
