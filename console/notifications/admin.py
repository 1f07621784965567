"""Django admin for reviewer notifications: read-only (the digest task writes them)."""

from __future__ import annotations

from django.contrib import admin

from console.notifications.models import LogCursor, ReviewNotice
from patches.admin_readonly import ReadOnlyAdmin


@admin.register(ReviewNotice)
class ReviewNoticeAdmin(ReadOnlyAdmin):
    list_display = ["user", "proposal", "queued_at", "sent_at"]
    list_filter = ["sent_at"]


@admin.register(LogCursor)
class LogCursorAdmin(ReadOnlyAdmin):
    list_display = ["name", "seq"]
