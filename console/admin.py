"""Django admin for the console's own state: worker heartbeats (read-only; stale rows deletable)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.access import is_admin
from console.models import WorkerHeartbeat
from patches.admin_readonly import ReadOnlyAdmin


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["worker", "seen_at"]
    search_fields = ["worker"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A retired worker's row would show as a dead worker in /healthz until removed.
        return is_admin(request.user)


# The outbound interfaces' admin pages live beside their models.
from console.notifications import admin as notifications_admin  # noqa: E402
from console.webhooks import admin as webhooks_admin  # noqa: E402

__all__ = ["WorkerHeartbeatAdmin", "notifications_admin", "webhooks_admin"]
