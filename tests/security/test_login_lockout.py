"""Password guessing on every login path, under another spelling, and behind a proxy: the
django-axes limit of console.login_limits holds (issue: hardening, 9)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory

from console.login_limits import client_address
from tests.factories import make_reviewer

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"
LOGIN = "/accounts/login/"
PROXY = "127.0.0.1"  # REMOTE_ADDR of every request that came through the reverse proxy


@pytest.fixture(autouse=True)
def _limits(settings):  # type: ignore[no-untyped-def]
    cache.clear()  # the earlier, hand-written limit counted in the cache
    settings.LOGIN_RATE_LIMIT = 10
    settings.LOGIN_USER_RATE_LIMIT = 100
    settings.TRUSTED_PROXY_COUNT = 0


def _login(client: Client, username: str, password: str, path: str = LOGIN, **extra: str) -> Any:
    return client.post(path, {"username": username, "password": password}, **extra)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_fifty_wrong_admin_passwords_are_answered_429_from_the_limit_on():
    make_reviewer("alice", admin=True)
    client = Client()
    statuses = [
        _login(client, "alice", f"guess {n}", "/admin/login/").status_code for n in range(50)
    ]
    assert statuses == [200] * 9 + [429] * 41
    response = _login(client, "alice", PASSWORD, "/admin/login/")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert not _signed_in(client)


def test_the_admin_login_and_the_console_login_share_one_count():
    make_reviewer("alice", admin=True)
    client = Client()
    for n in range(5):
        assert _login(client, "alice", f"guess {n}", "/admin/login/").status_code == 200
    for n in range(4):
        assert _login(client, "alice", f"guess {n}").status_code == 200
    assert _login(client, "alice", "guess 9").status_code == 429
    assert _login(client, "alice", PASSWORD).status_code == 429


@pytest.mark.parametrize("lookalike", ["\U0001d42beviewer2", "\uff52eviewer2", " reviewer2 "])
def test_a_lookalike_spelling_of_a_locked_username_is_locked_too(lookalike):
    """Django signs a bold or full-width r + "eviewer2" in as reviewer2 (NFKC): one count."""
    make_reviewer("reviewer2")
    client = Client()
    for n in range(10):
        _login(client, "reviewer2", f"guess {n}")
    response = _login(client, lookalike, PASSWORD)
    assert response.status_code == 429
    assert not _signed_in(client)


def test_failures_under_a_lookalike_spelling_count_for_the_username():
    make_reviewer("reviewer2")
    client = Client()
    for n in range(10):
        _login(client, "\U0001d42beviewer2", f"guess {n}")
    assert _login(client, "reviewer2", PASSWORD).status_code == 429


def test_behind_a_proxy_one_clients_failures_do_not_lock_out_the_others(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    make_reviewer("rita")
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7")
    for n in range(50):
        _login(attacker, "rita", f"guess {n}")
    assert _login(attacker, "rita", PASSWORD).status_code == 429

    rita = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert _login(rita, "rita", PASSWORD).status_code == 302
    assert _signed_in(rita)


def test_behind_a_proxy_a_client_cannot_pick_its_address_by_writing_forwarded_for(settings):
    """The proxy appends the address it saw; what the client wrote stays to its left."""
    settings.TRUSTED_PROXY_COUNT = 1
    make_reviewer("rita")
    for n in range(10):
        spoofed = f"198.51.100.{n}, 203.0.113.7"
        _login(Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=spoofed), "rita", f"guess {n}")
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.7")
    assert _login(attacker, "rita", PASSWORD).status_code == 429
    rita = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert _login(rita, "rita", PASSWORD).status_code == 302


def test_a_locked_address_adds_nothing_to_the_usernames_count(settings):
    """One client hammering on after its lockout never reaches the username-wide limit."""
    settings.LOGIN_RATE_LIMIT = 5
    settings.LOGIN_USER_RATE_LIMIT = 20
    make_reviewer("rita")
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(100):
        _login(attacker, "rita", f"guess {n}")
    assert _login(Client(REMOTE_ADDR="198.51.100.2"), "rita", PASSWORD).status_code == 302


def test_guesses_from_many_addresses_lock_the_username_everywhere_at_its_own_limit(settings):
    settings.LOGIN_RATE_LIMIT = 5
    settings.LOGIN_USER_RATE_LIMIT = 20
    make_reviewer("rita")
    for address in range(4):
        client = Client(REMOTE_ADDR=f"203.0.113.{address}")
        for n in range(5):
            _login(client, "rita", f"guess {n}")
    response = _login(Client(REMOTE_ADDR="198.51.100.2"), "rita", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == "300"


def test_a_sign_in_clears_only_its_own_addresses_failures(settings):
    settings.LOGIN_RATE_LIMIT = 5
    make_reviewer("rita")
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(4):
        _login(attacker, "rita", f"guess {n}")
    assert _login(Client(REMOTE_ADDR="198.51.100.2"), "rita", PASSWORD).status_code == 302
    assert _login(attacker, "rita", "guess 4").status_code == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "198.51.100.2", PROXY),
        (1, "198.51.100.2", "198.51.100.2"),
        (1, "10.9.9.9, 198.51.100.2", "198.51.100.2"),
        (2, "198.51.100.2, 10.0.0.2", "198.51.100.2"),
        (2, "10.9.9.9, 198.51.100.2, 10.0.0.2", "198.51.100.2"),
        (2, "198.51.100.2", PROXY),  # shorter than the proxies: it did not come through them
        (1, "", PROXY),
        (1, "not-an-address", PROXY),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address_is_the_one_the_outermost_trusted_proxy_saw(
    settings, proxies, forwarded_for, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().post(
        "/accounts/login/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for
    )
    assert client_address(request) == expected
