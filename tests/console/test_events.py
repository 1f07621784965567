"""The event log page: chain status, filters, escaped payloads with hashes, pagination."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from audit.checkpoints import checkpoint_sign
from patches.models import Event
from tests.console.conftest import client_for, in_review, prompt_patch, submit
from tests.factories import make_target


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


def test_the_log_shows_that_the_chain_verifies_up_to_the_last_seq(agent, target, rita):
    in_review(agent, target)
    last = Event.objects.order_by("-seq").first()
    html = client_for(rita).get("/events/").content.decode()
    assert f"Chain verified up to seq {last.seq} at " in html
    assert last.hash[7:31] in html and last.kind in html


def test_the_log_filters_by_kind_and_by_proposal(agent, target, rita):
    first = in_review(agent, target)
    submit(agent, target, patch=prompt_patch(target, "Other.\n"))
    client = client_for(rita)
    html = client.get("/events/?kind=TestGatePassed").content.decode()
    assert html.count('data-testid="event-TestGatePassed"') == 1
    assert 'data-testid="event-PatchProposed"' not in html
    mine = client.get(f"/events/?proposal={first.pk}").content.decode()
    assert mine.count('class="event"') == Event.objects.filter(proposal=first).count()


def test_payloads_are_pretty_json_and_escaped(agent, target, rita):
    submit(agent, target, reasoning="<img src=x onerror=alert(1)>")
    html = client_for(rita).get("/events/?kind=PatchProposed").content.decode()
    assert "&quot;reasoning&quot;: &quot;&lt;img src=x onerror=alert(1)&gt;&quot;" in html
    assert "<img src=x" not in html


def test_checkpoints_are_listed(agent, target, rita):
    checkpoint = checkpoint_sign()
    html = client_for(rita).get("/events/").content.decode()
    assert "Checkpoints" in html and checkpoint.head[7:31] in html


def test_events_of_targets_i_cannot_see_are_hidden(agent, rita, rob):
    owned = make_target("owned", "Prompt", "One.\nTwo.\n")
    owned.owners.add(rob)
    proposal = submit(agent, owned, patch=prompt_patch(owned, "Deux.\n"))
    assert f"proposal #{proposal.pk}" not in client_for(rita).get("/events/").content.decode()
    assert f"proposal #{proposal.pk}" in client_for(rob).get("/events/").content.decode()


def test_the_log_pages_and_htmx_gets_only_the_table(agent, target, rita):
    for n in range(60):
        make_target(f"t{n}", "Prompt", "x\n")
    client = client_for(rita)
    first = client.get("/events/").content.decode()
    assert first.count('class="event"') == 50 and "Page 1 of 2" in first
    partial = client.get("/events/?page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="event-table")
    assert partial.content.decode().lstrip().startswith('<section id="event-table"')
