"""Password guessing: the login limit holds against the usual ways around it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import make_reviewer

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fresh_cache(settings):  # type: ignore[no-untyped-def]
    settings.LOGIN_RATE_LIMIT = 5
    cache.clear()
    yield
    cache.clear()


def _login(client: Client, username: str, password: str, **extra: str) -> int:
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, **extra
    ).status_code


def test_spoofed_forwarded_for_headers_do_not_reset_the_count():
    make_reviewer("rita")
    client = Client()
    for n in range(4):
        assert _login(client, "rita", f"guess {n}", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}") == 200
    assert _login(client, "rita", "guess 4", HTTP_X_FORWARDED_FOR="10.0.0.4") == 429
    assert _login(client, "rita", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9") == 429
    assert "_auth_user_id" not in client.session


def test_respelling_the_username_does_not_reset_the_count():
    make_reviewer("rita")
    client = Client()
    for spelling in ("rita", "RITA", " rita", "Rita "):
        assert _login(client, spelling, "wrong") == 200
    assert _login(client, "rItA", "wrong") == 429
    assert _login(client, "rita", PASSWORD) == 429


def test_a_fresh_client_without_cookies_is_still_limited():
    make_reviewer("rita")
    for n in range(4):
        assert _login(Client(), "rita", f"guess {n}") == 200
    assert _login(Client(), "rita", "guess 4") == 429
    assert _login(Client(), "rita", PASSWORD) == 429


def test_the_limit_is_not_a_lockout_for_another_address():
    """Keyed by username and address: an attacker elsewhere cannot lock the real user out."""
    make_reviewer("rita")
    for n in range(6):
        _login(Client(REMOTE_ADDR="203.0.113.7"), "rita", f"guess {n}")
    assert _login(Client(REMOTE_ADDR="198.51.100.2"), "rita", PASSWORD) == 302
