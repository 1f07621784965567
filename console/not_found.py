"""The console's own 404 page in development too (DEBUG shows Django's technical page instead)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.defaults import page_not_found

API_PREFIX = "/api/"  # the API answers problem+json 404s of its own


class ConsoleNotFoundMiddleware:
    """With DEBUG on, a page that does not exist renders templates/404.html, as in production.

    A view's Http404 (a proposal one may not see) keeps its message; an unmatched URL gets
    the generic one. Production (DEBUG off) already uses templates/404.html; this changes
    nothing there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and request.resolver_match is None
            and not request.path.startswith(API_PREFIX)
        ):
            return page_not_found(request, Http404())
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        wanted = settings.DEBUG and not request.path.startswith(API_PREFIX)
        if wanted and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
