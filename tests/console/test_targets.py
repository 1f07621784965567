"""Targets: the list, a target's content and history, comparing versions, proposing reverts."""

from __future__ import annotations

from patches.models import Event, Proposal
from tests.console.conftest import client_for, in_review, prompt_patch
from tests.factories import make_target


def _approve(client, proposal):  # type: ignore[no-untyped-def]
    return client.post(
        f"/proposals/{proposal.pk}/",
        {"decision": "approve", "reason": "ok", "patch_hash": proposal.patch_hash,
         "base_content_hash": proposal.base_content_hash},
    )  # fmt: skip


def test_the_target_list_shows_current_versions(agent, target, rita):
    html = client_for(rita).get("/targets/").content.decode()
    assert 'href="/targets/system_prompt/"' in html
    assert '<td class="num">v1</td>' in html
    current = target.versions.get(version=1).content_hash
    assert current[7:23] in html


def test_a_target_page_shows_escaped_content_and_history_linked_to_proposals(agent, rita, rob):
    target = make_target("tricky", "Prompt", "<script>alert(1)</script>\nSecond.\n")
    proposal = in_review(agent, target, patch=prompt_patch(target, "Deuxième.\n"))
    _approve(client_for(rob), proposal)
    html = client_for(rita).get("/targets/tricky/").content.decode()
    assert (
        '<pre class="content" data-testid="target-content" tabindex="0">&lt;script&gt;alert(1)&lt;/script&gt;\nDeuxième.\n</pre>'
        in html
    )
    assert 'data-testid="target-version">v2</span>' in html
    assert f'href="/proposals/{proposal.pk}/"' in html
    assert "genesis" in html


def test_compare_redirects_to_the_versions_url_and_shows_the_diff(agent, target, rita, rob):
    _approve(client_for(rob), in_review(agent, target))
    client = client_for(rita)
    response = client.get("/targets/system_prompt/compare/?from=1&to=2")
    assert response.status_code == 302
    assert response["Location"] == "/targets/system_prompt/compare/1..2/"
    html = client.get(response["Location"]).content.decode()
    assert 'data-testid="diff"' in html and "briefly" in html
    split = client.get("/targets/system_prompt/compare/1..2/?mode=split").content.decode()
    assert 'data-mode="split"' in split


def test_comparing_a_version_that_does_not_exist_is_404(target, rita):
    assert client_for(rita).get("/targets/system_prompt/compare/1..9/").status_code == 404


def test_a_revert_post_proposes_the_inverse_and_redirects_to_it(agent, target, rita, rob):
    applied = in_review(agent, target)
    _approve(client_for(rob), applied)
    response = client_for(rita).post(
        "/targets/system_prompt/versions/2/revert/", {"reason": "Customers miss the greeting."}
    )
    revert = Proposal.objects.get(reverts__version=2)
    assert response.status_code == 302 and response["Location"] == f"/proposals/{revert.pk}/"
    assert revert.submitted_by == rita and revert.base_version == 2
    assert revert.reasoning.startswith("Restore v1 of system_prompt: Customers miss the greeting.")
    html = client_for(rob).get(response["Location"]).content.decode()
    assert "Restore v1 of system_prompt: Customers miss the greeting." in html


def test_a_revert_without_a_reason_is_refused_and_nothing_is_stored(agent, target, rita, rob):
    _approve(client_for(rob), in_review(agent, target))
    response = client_for(rita).post(
        "/targets/system_prompt/versions/2/revert/", {"reason": "  "}, follow=True
    )
    assert "a revert needs a reason" in response.content.decode()
    assert not Proposal.objects.filter(reverts__isnull=False).exists()


def test_the_requester_withdraws_their_revert_and_nobody_else_may(agent, target, rita, rob):
    _approve(client_for(rob), in_review(agent, target))
    client_for(rita).post("/targets/system_prompt/versions/2/revert/", {"reason": "Undo."})
    revert = Proposal.objects.get(reverts__version=2)
    page = client_for(rita).get(f"/proposals/{revert.pk}/").content.decode()
    assert 'data-testid="withdraw-form"' in page
    assert (
        'data-testid="withdraw-form"'
        not in client_for(rob).get(f"/proposals/{revert.pk}/").content.decode()
    )
    refused = client_for(rob).post(f"/proposals/{revert.pk}/withdraw/")
    assert refused.status_code == 409
    assert "only the person who asked for this revert may withdraw it" in refused.content.decode()
    revert.refresh_from_db()
    assert revert.status == "testing"
    client_for(rita).post(f"/proposals/{revert.pk}/withdraw/")
    revert.refresh_from_db()
    assert revert.status == "withdrawn"
    event = Event.objects.filter(proposal=revert, kind="PatchWithdrawn").get()
    assert event.actor == "user:rita"


def test_the_target_page_hides_revert_where_it_cannot_apply_and_says_why(agent, target, rita, rob):
    _approve(client_for(rob), in_review(agent, target))
    html = client_for(rita).get("/targets/system_prompt/").content.decode()
    assert 'data-testid="revert-2"' in html and 'data-testid="revert-1"' not in html
    client_for(rita).post("/targets/system_prompt/versions/2/revert/", {"reason": "Undo."})
    revert = Proposal.objects.get(reverts__version=2)
    html = client_for(rita).get("/targets/system_prompt/").content.decode()
    assert 'data-testid="revert-2"' not in html
    assert f"No revert: a revert is open: #{revert.pk}." in html
    assert "Approved by <strong>rob</strong>: ok" in html


def test_reverting_the_genesis_is_refused_with_a_message(target, rita):
    response = client_for(rita).post("/targets/system_prompt/versions/1/revert/", follow=True)
    assert "nothing to revert" in response.content.decode()
    assert not Proposal.objects.exists()


def test_a_revert_needs_a_post(target, rita):
    assert client_for(rita).get("/targets/system_prompt/versions/1/revert/").status_code == 405


def test_someone_elses_target_is_the_same_404_as_a_missing_one(rita, rob):
    owned = make_target("owned", "Prompt", "One.\n")
    owned.owners.add(rob)
    client = client_for(rita)
    assert client.get("/targets/owned/").status_code == 404
    assert client.get("/targets/nope/").status_code == 404
    assert "owned" not in client.get("/targets/").content.decode()
    assert client_for(rob).get("/targets/owned/").status_code == 200


def test_a_json_target_shows_its_content_indented_and_its_open_proposals(agent, rita):
    make_target("limits", "Config", '{"max":1,"nested":{"a":[1,2]}}')
    html = client_for(rita).get("/targets/limits/").content.decode()
    assert "{\n  &quot;max&quot;: 1,\n  &quot;nested&quot;: {" in html
    assert 'data-testid="open-proposals"' in html and "None." in html
