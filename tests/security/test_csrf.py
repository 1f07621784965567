"""Cross-site requests: every state-changing console POST without a CSRF token is refused."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.factories import proposal_body, signed_envelope, threshold_patch
from tests.security.test_authorization import MATRIX, Call, _state, url_patterns, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _console_posts() -> list[tuple[str, Call]]:
    return [
        (pattern, call)
        for pattern, calls in MATRIX.items()
        for call in calls
        if call.method == "POST" and not call.api
    ]


def test_every_console_post_is_in_the_csrf_check():
    posts = {pattern for pattern, _ in _console_posts()}
    assert {
        "proposals/<int:proposal_id>/",
        "targets/<slug:name>/versions/<int:version>/revert/",
        "proposals/<int:proposal_id>/withdraw/",
        "agents/keys/<str:key_id>/revoke/",
        "agents/<slug:name>/token/",
    } <= posts


@pytest.mark.parametrize("who", ["reviewer", "admin"])
def test_a_cross_site_post_without_a_csrf_token_is_refused(world, who):  # noqa: F811
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[who])
    for pattern, call in _console_posts():
        before = _state()
        data = call.data(world) if call.data else {}
        response = client.post(call.path(world), data=data, HTTP_ORIGIN="https://evil.example")
        assert response.status_code == 403, f"{pattern}: {response.status_code}"
        assert _state() == before, f"{pattern}: a cross-site POST changed the database"


def test_a_forged_csrf_token_is_refused(world):  # noqa: F811
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["admin"])
    client.cookies["csrftoken"] = "a" * 32
    before = _state()
    response = client.post(
        f"/agents/{world.smith.agent.name}/token/", {"csrfmiddlewaretoken": "b" * 32}
    )
    assert response.status_code == 403
    assert _state() == before


def test_the_login_form_itself_needs_a_csrf_token(world):  # noqa: F811
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"username": "rita", "password": "correct horse battery"}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_a_session_cookie_cannot_submit_to_the_agent_api(world):  # noqa: F811
    """The API is CSRF-exempt because it never authenticates by cookie: a browser that carries
    a reviewer's session still gets 401 without an agent's bearer token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["admin"])
    before = _state()
    envelope = signed_envelope(
        world.jones, proposal_body(target=world.open_target, patch=threshold_patch(7.0))
    )
    response = client.post(
        "/api/v1/proposals", data=json.dumps(envelope), content_type="application/json"
    )
    assert response.status_code == 401
    response = client.post(f"/api/v1/proposals/{world.open_proposal.pk}/withdraw")
    assert response.status_code == 401
    assert _state() == before
