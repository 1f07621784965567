"""The event log: the chain's verification status, filters, payloads with hashes, checkpoints."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.verify import verify_chain
from console.forms import EventFilterForm
from console.selectors import (
    event_kinds,
    event_target,
    pretty_payload,
    recent_checkpoints,
    visible_events,
)
from console.views.access import console_view, htmx_target, viewer_of

PAGE_SIZE = 50
VERIFY_CACHE_KEY = "console:chain-verification"
# Verifying walks the whole chain; once a minute is fresh enough for a status line.
VERIFY_CACHE_S = 60


def _verify() -> dict[str, Any]:
    result = verify_chain()
    # Seqs run 1, 2, 3… without gaps (the checker refuses gaps), so a good chain of n events
    # is verified up to seq n; a broken one names its first bad seq.
    return {
        "ok": result.ok,
        "seq": result.count if result.ok else result.seq,
        "head": result.head,
        "detail": result.message,
    }


def chain_status(*, refresh: bool = False) -> dict[str, Any]:
    """The cached result of verifying the whole chain."""
    status = None if refresh else cache.get(VERIFY_CACHE_KEY)
    if status is None:
        status = _verify()
        status["checked_at"] = timezone.now()
        cache.set(VERIFY_CACHE_KEY, status, VERIFY_CACHE_S)
    return status


@require_GET
@console_view
def event_log(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    form = EventFilterForm(request.GET or None, kinds=event_kinds())
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    events = visible_events(viewer, kind=data.get("kind") or "", proposal_id=data.get("proposal"))
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"event": event, "payload": pretty_payload(event), "target": event_target(event)}
        for event in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "chain": chain_status(refresh=request.GET.get("verify") == "now"),
        "checkpoints": recent_checkpoints(),
    }
    # A filter out of range (a proposal number past 64 bits) is the client's error: 400, with
    # the page unfiltered and the field marked invalid, rather than a database error.
    status = 400 if form.is_bound and not valid else 200
    if htmx_target(request) == "event-table":
        return render(request, "console/partials/event_table.html", context, status=status)
    return render(request, "console/events.html", context, status=status)
