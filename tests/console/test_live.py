"""Live updates: polled partials answer 304 while nothing changed, and the new state once it has."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.console.conftest import client_for, in_review, prompt_patch, run_gate, submit

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "inbox-table"}


def test_a_quiet_inbox_answers_304_to_its_own_etag(agent, target, rita):
    in_review(agent, target)
    client = client_for(rita)
    first = client.get("/", **HTMX)
    assert first.status_code == 200 and first["ETag"]
    assert first["Cache-Control"] == "private, no-cache"
    with CaptureQueriesContext(connection) as captured:
        again = client.get("/", HTTP_IF_NONE_MATCH=first["ETag"], **HTMX)
    assert again.status_code == 304 and again.content == b""
    # Session, user, roles and the log head: no proposal is read for a 304.
    assert not any("patches_proposal" in q["sql"] for q in captured.captured_queries)


def test_a_new_proposal_changes_the_etag_and_the_poll_gets_the_new_row(agent, target, rita):
    client = client_for(rita)
    quiet = client.get("/", **HTMX)
    assert "0 proposals awaiting" in quiet.content.decode()
    proposal = in_review(agent, target)
    fresh = client.get("/", HTTP_IF_NONE_MATCH=quiet["ETag"], **HTMX)
    assert fresh.status_code == 200 and fresh["ETag"] != quiet["ETag"]
    html = fresh.content.decode()
    assert f'data-testid="inbox-row-{proposal.pk}"' in html
    # The nav count rides along out of band.
    assert (
        'id="awaiting-count" title="Proposals awaiting your review" aria-live="polite" hx-swap-oob="true">1<'
        in html
    )


def test_the_etag_differs_per_person_and_per_filter(agent, target, rita, rob):
    in_review(agent, target)
    ritas = client_for(rita).get("/", **HTMX)["ETag"]
    robs = client_for(rob).get("/", **HTMX)["ETag"]
    filtered = client_for(rita).get("/?status=all", **HTMX)["ETag"]
    assert len({ritas, robs, filtered}) == 3
    stale = client_for(rob).get("/", HTTP_IF_NONE_MATCH=ritas, **HTMX)
    assert stale.status_code == 200


def test_the_full_inbox_page_is_never_a_304(agent, target, rita):
    client = client_for(rita)
    etag = client.get("/", **HTMX)["ETag"]
    assert client.get("/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_the_nav_count_polls_with_its_own_etag(agent, target, rita):
    client = client_for(rita)
    first = client.get("/live/awaiting-count/", HTTP_HX_REQUEST="true")
    assert first.status_code == 200 and ">0</span>" in first.content.decode()
    assert client.get("/live/awaiting-count/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    in_review(agent, target, patch=prompt_patch(target, "Answer in French.\n"))
    after = client.get("/live/awaiting-count/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and ">1</span>" in after.content.decode()


def test_the_inbox_polls_with_its_filters_and_other_pages_poll_the_count(agent, target, rita):
    client = client_for(rita)
    inbox = client.get("/?status=all&type=Prompt").content.decode()
    assert 'hx-get="/?status=all&amp;type=Prompt" hx-trigger="every 3s, livenow"' in inbox
    assert 'hx-get="/live/awaiting-count/"' not in inbox  # the table brings the count
    targets = client.get("/targets/").content.decode()
    assert 'hx-get="/live/awaiting-count/" hx-trigger="every 10s, livenow"' in targets


def test_a_gate_that_ends_under_the_reviewers_eyes_updates_the_page_in_place(agent, target, rita):
    proposal = submit(agent, target)
    client = client_for(rita)
    run_gate(proposal)
    done = client.get(f"/proposals/{proposal.pk}/gate/", HTTP_HX_REQUEST="true")
    html = done.content.decode()
    assert "HX-Refresh" not in done
    assert 'data-testid="proposal-status">In Review<' in html
    assert '<textarea name="reason" id="id_reason"' in html  # the decision box, out of band
    assert 'id="findings" data-testid="findings" data-nav-section hx-swap-oob="true"' in html
    assert 'id="awaiting-count"' in html and 'hx-swap-oob="true">1<' in html


def test_an_open_proposal_page_sees_another_persons_decision_without_a_reload(
    agent, target, rita, rob
):
    from audit.reviews import review_record

    proposal = in_review(agent, target)
    client = client_for(rita)
    page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert f'hx-get="/proposals/{proposal.pk}/live/?decidable=1"' in page
    url = f"/proposals/{proposal.pk}/live/?decidable=1"
    quiet = client.get(url, HTTP_HX_REQUEST="true")
    assert quiet.status_code == 200
    assert client.get(url, HTTP_IF_NONE_MATCH=quiet["ETag"]).status_code == 304
    # While rita may still decide, the poll leaves her decision box (and her typing) alone.
    assert 'id="decision"' not in quiet.content.decode()
    review_record(proposal=proposal, reviewer=rob, decision="reject", reason="No.",
                  patch_hash=proposal.patch_hash, base_content_hash=proposal.base_content_hash)  # fmt: skip
    changed = client.get(url, HTTP_IF_NONE_MATCH=quiet["ETag"])
    html = changed.content.decode()
    assert changed.status_code == 200
    assert 'data-testid="proposal-reason">Rejected by rob: No.</p>' in html
    assert 'id="decision" data-nav-section hx-swap-oob="true"' in html
    assert "only proposals in review can be decided" in html
    assert "?decidable=0" in html
