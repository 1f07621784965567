"""Login at /accounts/login/, its failed-attempt limit, and who may enter the console."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from tests.console.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


def test_the_login_form_has_username_and_password_fields(db):
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_reviewer_signs_in_and_sees_who_they_are_and_their_role(rita):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "rita", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    html = response.content.decode()
    assert '<span class="username" data-testid="whoami">rita</span>' in html
    assert '<span class="role role-reviewer">reviewer</span>' in html


def test_an_admin_is_shown_as_admin(alice):
    client = Client()
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert '<span class="role role-admin">admin</span>' in html


@override_settings(LOGIN_RATE_LIMIT=3, LOGIN_RATE_WINDOW_S=60)
def test_too_many_failed_logins_answer_429_even_with_the_right_password(rita):
    client = Client()
    for _ in range(2):
        response = client.post("/accounts/login/", {"username": "rita", "password": "wrong"})
        assert response.status_code == 200
    # The failure that reaches the limit is already answered with the lockout.
    response = client.post("/accounts/login/", {"username": "rita", "password": "wrong"})
    assert response.status_code == 429
    response = client.post("/accounts/login/", {"username": "rita", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_RATE_LIMIT=3, LOGIN_RATE_WINDOW_S=60)
def test_the_limit_counts_per_username_so_others_can_still_sign_in(rita, rob):
    client = Client()
    for _ in range(3):
        client.post("/accounts/login/", {"username": "rita", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "rob", "password": PASSWORD})
    assert response.status_code == 302


@override_settings(LOGIN_RATE_LIMIT=3, LOGIN_RATE_WINDOW_S=60)
def test_a_successful_login_resets_the_count(rita):
    client = Client()
    for _ in range(2):
        client.post("/accounts/login/", {"username": "rita", "password": "wrong"})
    assert (
        client.post("/accounts/login/", {"username": "rita", "password": PASSWORD}).status_code
        == 302
    )
    client.logout()
    for _ in range(2):
        assert (
            client.post("/accounts/login/", {"username": "rita", "password": "wrong"}).status_code
            == 200
        )


@pytest.mark.parametrize("url", ["/", "/targets/", "/events/", "/proposals/1/", "/agents/"])
def test_anonymous_visitors_are_sent_to_the_login_page(db, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", ["/", "/targets/", "/events/", "/agents/"])
def test_signed_in_people_without_a_console_role_get_403(outsider, url):
    client = Client()
    client.force_login(outsider)
    assert client.get(url).status_code == 403


def test_reviewers_get_403_on_the_agents_page(rita):
    client = Client()
    client.force_login(rita)
    assert client.get("/agents/").status_code == 403


def test_sign_out_is_a_post_and_ends_the_session(rita):
    client = Client()
    client.force_login(rita)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
