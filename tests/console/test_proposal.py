"""The proposal page: contents, escaping, the live gate partial, the decision form and its outcomes."""

from __future__ import annotations

import json

from audit.gate import audit_gate_run
from audit.models import Review
from patches.models import Event, Target, TargetVersion
from patches.testgate.runner import gate_run
from tests.console.conftest import client_for, in_review, prompt_patch, run_gate, submit
from tests.factories import ROUTING, make_target, make_test


def _decide(client, proposal, decision: str, reason: str = "Reads better."):  # type: ignore[no-untyped-def]
    return client.post(
        f"/proposals/{proposal.pk}/",
        {
            "decision": decision,
            "reason": reason,
            "patch_hash": proposal.patch_hash,
            "base_content_hash": proposal.base_content_hash,
        },
    )


def test_the_page_shows_who_proposed_what_and_why_with_signature_and_hashes(agent, target, rita):
    proposal = in_review(agent, target, reasoning="Line one.\nLine two.")
    html = client_for(rita).get(f"/proposals/{proposal.pk}/").content.decode()
    assert "agent-smith" in html
    assert '<div class="prose pre-wrap" data-testid="reasoning">Line one.\nLine two.</div>' in html
    assert proposal.patch_hash in html
    assert agent.key_id in html and "verified</span>" in html
    assert "v1" in html and 'data-testid="diff"' in html
    assert 'data-testid="test-prompt-placeholders"' in html
    assert "PatchProposed" in html and "TestGatePassed" in html


def test_the_decision_form_has_a_reason_box_approve_and_reject_and_the_hashes(agent, target, rita):
    proposal = in_review(agent, target)
    html = client_for(rita).get(f"/proposals/{proposal.pk}/").content.decode()
    assert '<label for="id_reason">Reason</label>' in html
    assert '<textarea name="reason" id="id_reason"' in html
    assert (
        '<button type="submit" name="decision" value="approve" class="approve">Approve</button>'
        in html
    )
    assert (
        '<button type="submit" name="decision" value="reject" class="reject">Reject</button>'
        in html
    )
    assert f'name="patch_hash" value="{proposal.patch_hash}"' in html
    assert f'name="base_content_hash" value="{proposal.base_content_hash}"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_agent_text_is_escaped_everywhere(agent, target, rita):
    evil = '<script>window.pwned=1</script><img src=x onerror="alert(1)"><a href="javascript:alert(2)">x</a>'
    proposal = in_review(agent, target, reasoning=evil, patch=prompt_patch(target, evil + "\n"))
    html = client_for(rita).get(f"/proposals/{proposal.pk}/").content.decode()
    assert "<script>window.pwned" not in html
    assert "<img src=x" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html


def test_approving_applies_the_patch_and_logs_it(agent, target, rita):
    proposal = in_review(agent, target)
    client = client_for(rita)
    response = _decide(client, proposal, "approve")
    assert response.status_code == 302 and response["Location"] == f"/proposals/{proposal.pk}/"
    proposal.refresh_from_db()
    assert proposal.status == "applied"
    assert Target.objects.get(pk=target.pk).version == 2
    assert Event.objects.filter(kind="PatchApplied", proposal=proposal).exists()
    review = Review.objects.get(proposal=proposal)
    assert (review.reviewer, review.reason) == (rita, "Reads better.")
    page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "Approved #" in page and "applied as v2" in page and 'data-testid="refusal"' in page


def test_rejecting_rejects_with_the_reason(agent, target, rita):
    proposal = in_review(agent, target)
    assert _decide(client_for(rita), proposal, "reject", "Too terse.").status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.stage, proposal.reason) == (
        "rejected",
        "audit_gate",
        "Too terse.",
    )


def test_an_empty_reason_re_renders_the_form_with_an_error_and_400(agent, target, rita):
    proposal = in_review(agent, target)
    response = _decide(client_for(rita), proposal, "approve", "   ")
    assert response.status_code == 400
    assert "Write a reason" in response.content.decode()
    assert not Review.objects.exists()


def test_a_decision_for_a_changed_patch_is_refused_with_409(agent, target, rita):
    proposal = in_review(agent, target)
    response = client_for(rita).post(
        f"/proposals/{proposal.pk}/",
        {"decision": "approve", "reason": "ok", "patch_hash": "sha256:" + "0" * 64,
         "base_content_hash": proposal.base_content_hash},
    )  # fmt: skip
    assert response.status_code == 409
    assert "changed since you loaded it" in response.content.decode()
    assert not Review.objects.exists()


def test_the_proposer_of_a_revert_sees_why_they_cannot_decide(agent, target, rita, rob):
    proposal = in_review(agent, target)
    _decide(client_for(rob), proposal, "approve")
    version = TargetVersion.objects.get(target=target, version=2)
    response = client_for(rita).post(f"/targets/{target.name}/versions/2/revert/")
    revert = run_gate(version.reverted_by.get())
    assert response["Location"] == f"/proposals/{revert.pk}/"
    html = client_for(rita).get(response["Location"]).content.decode()
    assert 'data-testid="refusal"' in html and "You proposed this patch" in html
    assert 'name="decision"' not in html
    assert _decide(client_for(rita), revert, "approve").status_code == 409


def test_the_gate_partial_polls_while_testing_and_stops_when_done(agent, target, rita):
    proposal = submit(agent, target)
    client = client_for(rita)
    page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page
    partial = client.get(f"/proposals/{proposal.pk}/gate/", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in partial.content.decode()
    assert "HX-Refresh" not in partial
    run_gate(proposal)
    done = client.get(f"/proposals/{proposal.pk}/gate/", HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in done.content.decode()
    assert 'data-finished="true"' in done.content.decode()
    assert done["HX-Refresh"] == "true"
    assert 'hx-trigger="every 1s"' not in client.get(f"/proposals/{proposal.pk}/").content.decode()


def test_between_the_two_gates_the_page_keeps_polling_and_offers_no_decision(agent, target, rita):
    proposal = submit(agent, target)
    gate_run(proposal_id=proposal.pk)  # the test gate passed; the audit gate has not run yet
    client = client_for(rita)
    page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "The audit gate is checking this proposal." in page
    assert "No findings." not in page
    assert 'hx-trigger="every 1s"' in page
    assert "The audit gate has not checked this proposal yet" in page
    assert '<label for="id_reason">Reason</label>' not in page
    partial = client.get(f"/proposals/{proposal.pk}/gate/", HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in partial

    audit_gate_run(proposal_id=proposal.pk)
    done = client.get(f"/proposals/{proposal.pk}/gate/", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "The audit gate is checking this proposal." not in page
    assert '<label for="id_reason">Reason</label>' in page


def test_failed_tests_show_their_output_escaped(agent, rita):
    make_test("no-secrets", "text_not_contains", {"text": "<b>secret</b>"})
    target = make_target("bold", "Prompt", "Hello.\nBye.\n", tests=["no-secrets"])
    proposal = run_gate(submit(agent, target, patch=prompt_patch(target, "<b>secret</b>\n")))
    assert proposal.status == "rejected"
    html = client_for(rita).get(f"/proposals/{proposal.pk}/").content.decode()
    assert '<pre class="output">' in html and "&lt;b&gt;secret&lt;/b&gt;" in html
    assert "<b>secret</b>" not in html


def test_the_impact_table_shows_cases_whose_outcome_changes(agent, rita):
    make_test(
        "billing-cases", "routing_cases",
        {"cases": [{"input": "my invoice", "expect": "tech"}, {"input": "hello", "expect": "general"}]},
    )  # fmt: skip
    routing = make_target("router", "Routing", ROUTING, tests=["billing-cases"])
    patch = json.dumps([{"op": "replace", "path": "/routes/tech/keywords/error", "value": 2.0},
                        {"op": "add", "path": "/routes/tech/keywords/invoice", "value": 5.0}])  # fmt: skip
    proposal = run_gate(submit(agent, routing, patch=patch))
    html = client_for(rita).get(f"/proposals/{proposal.pk}/").content.decode()
    assert 'data-testid="impact"' in html
    assert "<code>my invoice</code></td><td>billing</td><td><strong>tech</strong>" in html
    assert "1 of 2 routing cases change route" in html


def test_a_stale_proposal_says_it_is_stale_and_shows_its_diff_against_its_base(agent, target, rita):
    first = in_review(agent, target)
    second = in_review(agent, target, patch=prompt_patch(target, "Other.\n"))
    _decide(client_for(rita), first, "approve")
    html = client_for(rita).get(f"/proposals/{second.pk}/").content.decode()
    assert 'data-testid="proposal-status">Stale<' in html
    assert "The target moved to v2 after this proposal was written on v1" in html
    assert 'id="diff" class="diff' in html


def test_a_patch_that_no_longer_applies_is_shown_raw(agent, rita):
    config = make_target("limits", "Config", {"retries": 1})
    patch = json.dumps([{"op": "replace", "path": "/retries", "value": 7}])
    proposal = submit(agent, config, patch=patch)
    # A later schema (admins may tighten it) that the proposed content breaks.
    Target.objects.filter(pk=config.pk).update(
        schema={"type": "object", "properties": {"retries": {"maximum": 3}}}
    )
    html = client_for(rita).get(f"/proposals/{proposal.pk}/").content.decode()
    assert "The patch no longer applies" in html
    assert '<pre class="output raw-patch" data-testid="diff">' in html
    assert "&quot;/retries&quot;" in html


def test_the_diff_switches_to_split_mode_and_htmx_gets_only_the_partial(agent, target, rita):
    proposal = in_review(agent, target)
    client = client_for(rita)
    assert (
        'data-mode="split"' in client.get(f"/proposals/{proposal.pk}/?mode=split").content.decode()
    )
    partial = client.get(
        f"/proposals/{proposal.pk}/?mode=split", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="diff"
    ).content.decode()
    assert partial.lstrip().startswith('<div id="diff"') and "<html" not in partial


def test_someone_elses_proposal_is_the_same_404_as_a_missing_one(agent, rita, rob):
    owned = make_target("owned", "Prompt", "One.\nTwo.\n")
    owned.owners.add(rob)
    proposal = in_review(agent, owned, patch=prompt_patch(owned, "Deux.\n"))
    hidden = client_for(rita).get(f"/proposals/{proposal.pk}/")
    missing = client_for(rita).get("/proposals/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert client_for(rob).get(f"/proposals/{proposal.pk}/").status_code == 200
