"""Live updates by polling: ETags from the log's head, so a quiet page costs a 304 and one query.

Every change a console page shows (a submit, a gate result, a review, an apply, a withdrawal, a
new target) writes an event in the same transaction, so the head of the event log is a version
number for everything. A polled partial's ETag is a hash of that head, the viewer's identity and
roles (two people see different inboxes) and the query string (the filters); when the browser's
`If-None-Match` still matches, the view answers 304 without rendering anything.
See docs/performance.md ("Live updates") for why polling and not server-sent events.
"""

from __future__ import annotations

import hashlib

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified

from console.views.access import Viewer
from patches.models import Event

# How often a browser asks; the inbox must show a new proposal within 5 s.
POLL_INTERVAL_S = 3


def log_head_seq() -> int:
    """The seq of the newest event, 0 for an empty log (one primary-key lookup)."""
    return Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def live_etag(request: HttpRequest, viewer: Viewer, scope: str) -> str:
    roles = ",".join(viewer.roles) + ":" + ",".join(map(str, sorted(viewer.owned_target_ids)))
    query = request.GET.urlencode()
    seed = f"{scope}|{viewer.user.pk}|{roles}|{query}|{log_head_seq()}"
    return '"' + hashlib.sha256(seed.encode()).hexdigest()[:32] + '"'


def not_modified(request: HttpRequest, etag: str) -> HttpResponse | None:
    """304 when the browser already shows what `etag` names, else None (render as usual)."""
    sent = request.headers.get("If-None-Match", "")
    if etag in (tag.strip() for tag in sent.split(",")):
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response
    return None


def with_etag(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    # Private to this person; always revalidated (the polling script sends If-None-Match).
    response["Cache-Control"] = "private, no-cache"
    return response
