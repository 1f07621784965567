"""The inbox: proposals waiting for my review, with filters that htmx applies in place."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.forms import InboxFilterForm
from console.label_selectors import owner_drift_count
from console.live import POLL_INTERVAL_S, live_etag, not_modified, with_etag
from console.selectors import awaiting_count, inbox_choices, inbox_proposals
from console.views.access import console_view, htmx_target, viewer_of

PAGE_SIZE = 25


@require_GET
@console_view
def inbox(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    partial = htmx_target(request) == "inbox-table"
    etag = live_etag(request, viewer, "inbox")
    if partial and (unchanged := not_modified(request, etag)):
        return unchanged  # the open inbox polls; nothing happened since it last asked
    form = InboxFilterForm(request.GET or None, **inbox_choices(viewer))
    filters = form.filters()
    page = Paginator(inbox_proposals(viewer, **filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "awaiting_mode": filters["status"] == "awaiting",
        "poll_query": request.GET.urlencode(),
        "poll_interval_s": POLL_INTERVAL_S,
        "etag": etag,
    }
    # Filters, page links and the live poll swap only the table; the URL keeps the filters
    # (hx-push-url). The nav count rides along out of band.
    if partial:
        context["oob_count"] = awaiting_count(viewer)
        return with_etag(render(request, "console/partials/inbox_table.html", context), etag)
    context["fleet_drift"] = owner_drift_count(viewer)  # the header's drift count, for owners
    return render(request, "console/inbox.html", context)
