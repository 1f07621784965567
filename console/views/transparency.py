"""The transparency log page: the latest signed checkpoint, the witnesses and what they cosigned."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.transparency import recent_noted_checkpoints, witnesses_overview
from console.views.access import console_view


@require_GET
@console_view
def transparency_log(request: HttpRequest) -> HttpResponse:
    checkpoints = recent_noted_checkpoints()
    context = {
        "origin": settings.LOG_ORIGIN,
        "latest": checkpoints[0] if checkpoints else None,
        "checkpoints": checkpoints,
        "witnesses": witnesses_overview(),
    }
    return render(request, "console/log.html", context)
