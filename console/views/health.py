"""GET /healthz: database, broker and worker state as JSON (503 only when the database is down)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from console.health import health_report


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    status, report = health_report()
    return JsonResponse(report, status=status)
