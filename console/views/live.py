"""Small polled fragments: the nav count of proposals awaiting the signed-in person."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.live import live_etag, not_modified, with_etag
from console.selectors import awaiting_count
from console.views.access import console_view, viewer_of


@require_GET
@console_view
def awaiting_count_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    etag = live_etag(request, viewer, "count")
    if unchanged := not_modified(request, etag):
        return unchanged
    context = {"waiting": awaiting_count(viewer), "poll": True, "etag": etag}
    return with_etag(render(request, "console/partials/awaiting_count.html", context), etag)
