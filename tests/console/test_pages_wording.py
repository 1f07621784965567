"""Pages say what fits: events name their target, 403 hints fit the page, the console's own 404."""

from __future__ import annotations

from tests.console.conftest import client_for, in_review


def test_target_created_and_review_events_name_their_target(agent, target, rita):
    in_review(agent, target)
    html = client_for(rita).get("/events/").content.decode()
    link = 'target <a href="/targets/system_prompt/" data-testid="event-target">system_prompt</a>'
    created = html[html.index('data-testid="event-TargetCreated"') :]
    assert link in created[: created.index("</li>")]
    proposed = html[html.index('data-testid="event-PatchProposed"') :]
    assert link in proposed[: proposed.index("</li>")]


def test_times_show_seconds_relative_age_and_full_precision_in_the_tooltip(agent, target, rita):
    proposal = in_review(agent, target)
    html = client_for(rita).get(f"/proposals/{proposal.pk}/").content.decode()
    stamp = proposal.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert f">{stamp}</time>" in html
    assert proposal.created_at.strftime("%H:%M:%S.%f UTC") in html
    assert 'class="ago" data-since=' in html and " s ago)</span>" in html


def test_a_reviewer_on_an_admin_page_is_told_it_is_for_admins(rita):
    response = client_for(rita).get("/agents/")
    assert response.status_code == 403
    assert "This page is for admins." in response.content.decode()


def test_someone_without_a_role_is_told_to_ask_for_one(outsider):
    response = client_for(outsider).get("/")
    assert response.status_code == 403
    assert "Your account has no console role" in response.content.decode()


def test_a_missing_page_is_the_consoles_own_404(rita):
    response = client_for(rita).get("/proposals/999999/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="not-found"' in html and "No proposal #999999 that you can see." in html


def test_the_audit_panel_does_not_say_no_findings_before_the_audit_ran(agent, target, rita):
    from tests.console.conftest import submit

    proposal = submit(agent, target)
    html = client_for(rita).get(f"/proposals/{proposal.pk}/").content.decode()
    assert "No findings." not in html and "The audit gate runs once the test gate passes." in html


def test_with_debug_on_a_missing_page_is_still_the_consoles_own_404(rita, settings):
    settings.DEBUG = True
    client = client_for(rita)
    for path, message in (("/no/such/page/", "There is nothing here"),
                          ("/proposals/999999/", "No proposal #999999 that you can see.")):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404
        html = response.content.decode()
        assert 'data-testid="not-found"' in html and message in html, path
    api = client.get("/api/v1/proposals/999999")
    assert api.status_code == 401 and api["Content-Type"].startswith("application/problem+json")


def test_an_unmatched_url_says_there_is_nothing_here_not_a_class_name(rita):
    html = client_for(rita).get("/no/such/page/").content.decode()
    assert "There is nothing here" in html and "Resolver404" not in html
