"""Template helpers of the console: the signed-in viewer, the nav count, hash and status display."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.context import Context

from console.selectors import awaiting_count
from console.views.access import Viewer, viewer_of

register = template.Library()


@register.simple_tag(takes_context=True)
def console_viewer(context: Context) -> Viewer | None:
    request = context.get("request")
    return viewer_of(request) if request is not None else None


@register.simple_tag(takes_context=True)
def awaiting_review_count(context: Context) -> int:
    """What waits for the signed-in person, shown in the nav on every page."""
    request = context.get("request")
    if request is None:
        return 0
    viewer = viewer_of(request)
    return awaiting_count(viewer) if viewer.may_use_console else 0


@register.filter
def short_hash(value: Any, length: int = 12) -> str:
    """sha256:abcdef… → abcdef012345 (the full hash stays in the title attribute)."""
    text = str(value or "")
    return text.removeprefix("sha256:")[:length]


@register.filter
def status_class(value: Any) -> str:
    return "badge badge-" + str(value or "none").replace("_", "-")
