"""What a failed sign-in counts against: django-axes, keyed on the normalized username and the
client address behind TRUSTED_PROXY_COUNT proxies, with two limits.

Every login path that calls Django's authenticate() with the request (/accounts/login/,
/admin/login/) goes through axes' backend, so one limit covers them all. A username is locked
- from one address after LOGIN_RATE_LIMIT failures there in LOGIN_RATE_WINDOW_S: one client,
  or everyone behind one unconfigured proxy, cannot lock the user out for other addresses;
- from every address after LOGIN_USER_RATE_LIMIT failures in the window, however many
  addresses they came from: the cap on a guesser who rotates addresses.
A locked address's further failures are not counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_
LOCKOUT off), so reaching the username-wide limit takes LOGIN_USER_RATE_LIMIT / LOGIN_RATE_LIMIT
addresses, never one client hammering.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from datetime import timedelta
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.http import HttpRequest


def username_of(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username as Django compares it (NFKC, stripped), case-folded: reviewer2 with a
    mathematical bold r, ` RITA` and `rita` are each one username to the limit, as Django
    signs them in as one account (or none)."""
    raw = credentials.get("username") if credentials else request.POST.get("username")
    if not isinstance(raw, str):
        return None
    normalized = get_user_model().normalize_username(unicodedata.normalize("NFKC", raw))
    return unicodedata.normalize("NFKC", normalized.strip().casefold())


def client_address(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N the address the
    outermost of our N proxies saw, i.e. the N-th entry of X-Forwarded-For from the right.

    Entries further left are whatever the client wrote, never trusted. A request whose header
    is shorter than N came past the proxies, or from a misconfigured one: its REMOTE_ADDR is
    the one address it cannot forge.
    """
    peer = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies == 0:
        return peer
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if len(forwarded) < proxies:
        return peer
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    return int(settings.LOGIN_RATE_LIMIT)


def cool_off(request: HttpRequest | None) -> timedelta:
    return timedelta(seconds=settings.LOGIN_RATE_WINDOW_S)


def _failures(attempts: Any) -> int:
    return int(attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0)


class LoginLimitHandler(AxesDatabaseHandler):
    """Axes' database handler with the second, username-wide limit, and a reset that clears
    only the signing-in address's failures (not the failures others made elsewhere)."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        # One query set per AXES_LOCKOUT_PARAMETERS entry, in its order: (username, address),
        # then username. Axes compares one number with one limit (LOGIN_RATE_LIMIT): the
        # address's failures, or that whole limit once the username's failures everywhere
        # reach their own.
        from_address, everywhere = (
            _failures(attempts) for attempts in self.get_user_attempts(request, credentials)
        )
        if everywhere >= settings.LOGIN_USER_RATE_LIMIT:
            return max(from_address, failure_limit(request, credentials))
        return from_address

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
        ).delete()
        return count
