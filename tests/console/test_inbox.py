"""The inbox: what awaits my review, filters, hash search, htmx partials and pagination."""

from __future__ import annotations

import re

from audit.models import Finding, Review
from tests.console.conftest import client_for, in_review, prompt_patch, submit
from tests.factories import make_agent, make_target


def _rows(html: str) -> int:
    return html.count("<tr data-href=")


def test_the_inbox_lists_proposals_awaiting_my_review_oldest_first(agent, target, rita):
    first = in_review(agent, target)
    second = in_review(agent, target, patch=prompt_patch(target, "Answer in full sentences.\n"))
    submit(agent, target, patch=prompt_patch(target, "Still testing.\n"))  # testing: not awaiting
    html = client_for(rita).get("/").content.decode()
    assert _rows(html) == 2
    assert html.index(f'href="/proposals/{first.pk}/"') < html.index(
        f'href="/proposals/{second.pk}/"'
    )
    assert "2 proposals awaiting your review" in html
    assert re.search(r'<span class="count" id="awaiting-count"[^>]*>2</span>', html)


def test_proposals_i_already_reviewed_leave_my_inbox_but_not_my_colleagues(
    agent, target, rita, rob
):
    target.required_approvals = 2
    target.save()
    proposal = in_review(agent, target)
    Review.objects.create(
        proposal=proposal, reviewer=rita, decision="approve", reason="fine",
        patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash,
    )  # fmt: skip
    assert _rows(client_for(rita).get("/").content.decode()) == 0
    assert _rows(client_for(rob).get("/").content.decode()) == 1


def test_a_row_shows_target_type_agent_risk_tests_and_age(agent, target, rita):
    proposal = in_review(agent, target)
    Finding.objects.create(proposal=proposal, check_name="size", severity="raise", message="big")
    Finding.objects.create(proposal=proposal, check_name="words", severity="info", message="x")
    raises = proposal.findings.filter(severity="raise").count()
    infos = proposal.findings.filter(severity="info").count()
    html = client_for(rita).get("/").content.decode()
    assert '<td>system_prompt <span class="muted small">Prompt</span></td>' in html
    assert '<td data-label="Agent">agent-smith</td>' in html
    assert f"{raises} raise</span>" in html and f"{infos} info</span>" in html
    assert 'class="num ok" data-label="Tests">2/2</td>' in html
    assert "<time datetime=" in html


def test_the_status_filter_shows_testing_and_rejected_proposals(agent, target, rita):
    testing = submit(agent, target)
    html = client_for(rita).get("/?status=testing").content.decode()
    assert _rows(html) == 1 and f"/proposals/{testing.pk}/" in html
    assert _rows(client_for(rita).get("/?status=rejected").content.decode()) == 0


def test_filters_by_type_target_and_agent(agent, target, rita):
    other_target = make_target("greeting", "Prompt", "Hello {name}.\nBye.\n")
    other_agent = make_agent("agent-jones")
    in_review(agent, target)
    in_review(other_agent, other_target, patch=prompt_patch(other_target, "Goodbye.\n"))
    client = client_for(rita)
    assert _rows(client.get("/?target=greeting").content.decode()) == 1
    assert _rows(client.get("/?agent=agent-jones").content.decode()) == 1
    assert _rows(client.get("/?agent=agent-smith&target=greeting").content.decode()) == 0
    assert _rows(client.get("/?type=Routing").content.decode()) == 0
    assert _rows(client.get("/?type=Prompt").content.decode()) == 2


def test_search_by_patch_hash_prefix_with_or_without_the_sha256_prefix(agent, target, rita):
    proposal = in_review(agent, target)
    in_review(agent, target, patch=prompt_patch(target, "Another line.\n"))
    client = client_for(rita)
    bare = proposal.patch_hash[7:17]
    assert _rows(client.get(f"/?q={bare}").content.decode()) == 1
    assert _rows(client.get(f"/?q={proposal.patch_hash[:20]}").content.decode()) == 1


def test_an_htmx_filter_request_gets_only_the_table_partial(agent, target, rita):
    in_review(agent, target)
    response = client_for(rita).get(
        "/?status=all", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox-table"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="inbox-table"')
    assert "<html" not in html and _rows(html) == 1


def test_the_filter_form_swaps_the_table_and_keeps_filters_in_the_url(rita):
    html = client_for(rita).get("/").content.decode()
    assert 'hx-target="#inbox-table"' in html
    assert 'hx-push-url="true"' in html


def test_the_inbox_pages_by_25(agent, target, rita):
    for n in range(26):
        submit(agent, target, patch=prompt_patch(target, f"Variant {n}.\n"))
    client = client_for(rita)
    first = client.get("/?status=testing").content.decode()
    assert _rows(first) == 25
    assert "Page 1 of 2" in first and "status=testing&amp;page=2" in first
    assert _rows(client.get("/?status=testing&page=2").content.decode()) == 1


def test_targets_with_owners_are_hidden_from_group_reviewers(agent, rita, rob):
    owned = make_target("owned", "Prompt", "One.\nTwo.\n")
    owned.owners.add(rob)
    in_review(agent, owned, patch=prompt_patch(owned, "Deux.\n"))
    assert _rows(client_for(rita).get("/").content.decode()) == 0
    assert _rows(client_for(rob).get("/").content.decode()) == 1
