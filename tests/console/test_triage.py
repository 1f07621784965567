"""Triage: rows that say what they are, approve & next, neighbours, closing reasons in words."""

from __future__ import annotations

from audit.reviews import review_record
from patches.lifecycle import proposal_withdraw
from tests.console.conftest import client_for, in_review, prompt_patch, run_gate, submit


def _decide(client, proposal, decision, reason="Reason.", then_next=False):  # type: ignore[no-untyped-def]
    url = f"/proposals/{proposal.pk}/" + ("?then=next" if then_next else "")
    return client.post(
        url,
        {"decision": decision, "reason": reason, "patch_hash": proposal.patch_hash,
         "base_content_hash": proposal.base_content_hash},
    )  # fmt: skip


def _three(agent, target):  # type: ignore[no-untyped-def]
    target.required_approvals = 2
    target.save()
    return [
        in_review(agent, target, patch=prompt_patch(target, f"Answer in style {i}.\n"))
        for i in range(3)
    ]


def test_approve_and_next_goes_to_the_next_proposal_waiting_for_me(agent, target, rita):
    first, second, third = _three(agent, target)
    client = client_for(rita)
    response = _decide(client, first, "approve", then_next=True)
    assert response.status_code == 302 and response["Location"] == f"/proposals/{second.pk}/"
    response = _decide(client, second, "reject", "Too casual.", then_next=True)
    assert response["Location"] == f"/proposals/{third.pk}/"
    response = _decide(client, third, "approve", then_next=True)
    assert response["Location"] == "/"
    assert "Nothing else waits for your review." in client.get("/").content.decode()
    assert first.reviews.get().decision == "approve"


def test_next_wraps_to_an_older_proposal_still_waiting(agent, target, rita):
    first, _second, third = _three(agent, target)
    response = _decide(client_for(rita), third, "approve", then_next=True)
    assert response["Location"] == f"/proposals/{first.pk}/"


def test_the_proposal_page_links_the_previous_and_next_waiting_proposals(agent, target, rita):
    first, second, third = _three(agent, target)
    html = client_for(rita).get(f"/proposals/{second.pk}/").content.decode()
    assert f'<a href="/proposals/{first.pk}/" rel="prev" data-key="p">' in html
    assert f'<a href="/proposals/{third.pk}/" rel="next" data-key="n">' in html
    assert "Approve &amp; next</button>" in html and "Reject &amp; next</button>" in html


def test_a_decision_message_is_one_plain_sentence(agent, target, rita):
    proposal = in_review(agent, target)
    client = client_for(rita)
    response = _decide(client, proposal, "approve")
    html = client.get(response["Location"]).content.decode()
    assert f"Approved #{proposal.pk}: applied as v2 of system_prompt." in html


def test_rows_show_the_first_line_of_the_reasoning_escaped(agent, target, rita):
    in_review(agent, target, reasoning="<b>Shorter</b> answers.\nSecond line stays out.")
    html = client_for(rita).get("/").content.decode()
    assert (
        '<span class="one-line" data-testid="summary">&lt;b&gt;Shorter&lt;/b&gt; answers.</span>'
        in html
    )
    assert "Second line stays out." not in html


def test_closed_rows_say_why_they_closed(agent, target, rita, rob):
    rejected = in_review(agent, target, patch=prompt_patch(target, "Be rude.\n"))
    review_record(proposal=rejected, reviewer=rob, decision="reject",
                  reason="Rudeness is not a style.\nMore detail.",
                  patch_hash=rejected.patch_hash, base_content_hash=rejected.base_content_hash)  # fmt: skip
    run_gate(submit(agent, target, patch=prompt_patch(target, "Long. " * 800 + "\n")))
    withdrawn = proposal_withdraw(
        proposal=submit(agent, target, patch=prompt_patch(target, "Gone.\n")), actor="agent:x"
    )
    html = client_for(rita).get("/?status=all").content.decode()
    assert ">Rejected by rob: Rudeness is not a style.</span>" in html
    assert ">Test failed: max-length</span>" in html
    assert ">Withdrawn</span>" in html
    page = client_for(rita).get(f"/proposals/{rejected.pk}/").content.decode()
    assert 'data-testid="proposal-reason">Rejected by rob: Rudeness is not a style.</p>' in page
    assert "Audit Gate" not in page
    assert withdrawn.status == "withdrawn"
