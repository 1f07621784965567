"""Read-only Django admin pieces shared by every app: history is shown, never changed."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html


def actor_of(request: HttpRequest) -> str:
    return f"user:{request.user.get_username()}"


class RefusesWrites:
    """Admin permissions that refuse every add, change and delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(RefusesWrites, admin.ModelAdmin):
    """History: staff may look, nobody may add, change or delete, whatever the form posts.

    Refused server-side (the add/change/delete views answer 403), not only hidden.
    """

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        opts = self.model._meta
        names = [f.name for f in opts.fields] + [f.name for f in opts.many_to_many]
        return names + [name for name in self.readonly_fields if name not in names]


class ReadOnlyInline(RefusesWrites, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


def pretty_json_html(value: Any) -> str:
    return format_html(
        "<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    )
