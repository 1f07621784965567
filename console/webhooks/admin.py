"""Django admin for webhooks: browse, pause, resume, delete. Created by webhook_create only.

There is no add form: the secret is shown once, to whoever creates the subscription, as JSON
on the command's stdout, and never again (it is stored sealed). Nothing is editable either:
a new URL or filter is a new subscription (with its own secret), so a receiver never gets
events signed for someone else.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.access import is_admin
from console.webhooks.models import WebhookAttempt, WebhookSubscription
from console.webhooks.services import webhook_pause, webhook_resume
from patches.admin_readonly import ReadOnlyAdmin, ReadOnlyInline


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["attempted_at", "event_seq", "status_code", "error", "duration_ms"]
    show_change_link = False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "url", "state", "cursor", "next_attempt_at", "created_at"]
    list_filter = ["state"]
    search_fields = ["url"]
    exclude = ["sealed_secret", "lease_token"]
    inlines = [WebhookAttemptInline]
    actions = ["pause", "resume"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            name for name in super().get_readonly_fields(request, obj) if name not in self.exclude
        ]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Receiver URLs often carry a token of their own (chat and CI hooks): admins only.
        return is_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only for the pause and resume actions; every field stays read-only.
        return is_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin(request.user)

    @admin.action(description="Pause the selected webhooks", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            webhook_pause(subscription=subscription)
        messages.success(request, f"Paused {len(queryset)} webhook(s).")

    @admin.action(description="Resume the selected webhooks", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            webhook_resume(subscription=subscription)
        messages.success(request, f"Resumed {len(queryset)} webhook(s); nothing was skipped.")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "event_seq", "attempted_at", "status_code", "error"]
    list_filter = ["status_code"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin(request.user)
