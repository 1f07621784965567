"""Login with a failed-attempt limit per username and client address."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse


def _failures_key(request: HttpRequest, username: str) -> str:
    # Hashed so any username (spaces, unicode) makes a valid cache key.
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
    return f"console:login-failures:{digest}"


class RateLimitedLoginView(LoginView):
    """Django's login, answering 429 after LOGIN_RATE_LIMIT failures in LOGIN_RATE_WINDOW_S."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = _failures_key(request, request.POST.get("username", ""))
        if cache.get(key, 0) >= settings.LOGIN_RATE_LIMIT:
            form = self.get_form()
            minutes = max(1, settings.LOGIN_RATE_WINDOW_S // 60)
            context = self.get_context_data(
                form=form,
                rate_limited=(
                    f"Too many failed sign-ins for this username from your address. "
                    f"Wait {minutes} minute{'s' if minutes != 1 else ''} and try again."
                ),
            )
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        key = _failures_key(self.request, self.request.POST.get("username", ""))
        # add() starts the window on the first failure; incr() never extends it.
        if not cache.add(key, 1, timeout=settings.LOGIN_RATE_WINDOW_S):
            try:
                cache.incr(key)
            except ValueError:
                cache.add(key, 1, timeout=settings.LOGIN_RATE_WINDOW_S)
        return super().form_invalid(form)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        cache.delete(_failures_key(self.request, form.get_user().get_username()))
        return super().form_valid(form)
