"""Sign-in: Django's login view, and the page a locked-out sign-in gets (console.login_limits)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class ConsoleLoginView(LoginView):
    redirect_authenticated_user = True


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with the sign-in form and how long to wait, on every login
    path (the admin's too), whatever password was given."""
    window = settings.LOGIN_RATE_WINDOW_S
    minutes = max(1, window // 60)
    context = {
        "form": AuthenticationForm(request),
        "next": request.POST.get("next", request.GET.get("next", "")),
        "rate_limited": (
            "Too many failed sign-ins for this username. "
            f"Wait {minutes} minute{'s' if minutes != 1 else ''} and try again."
        ),
    }
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(window)
    return response
