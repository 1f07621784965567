"""Template helpers of the second-pass UI: one-line summaries, closing reasons, stage names, times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from console import wording

register = template.Library()


@register.filter
def first_line(value: Any) -> str:
    return wording.first_line(str(value or ""))


@register.filter
def stage_name(value: Any) -> str:
    return wording.stage_name(str(value or ""))


@register.filter
def status_name(value: Any) -> str:
    return wording.status_name(str(value or ""))


@register.filter
def closed_reason(proposal: Any) -> str:
    """Why a proposal closed, in one line; uses the `rejected_by` annotation when present."""
    rejected_by = getattr(proposal, "rejected_by", None)
    if rejected_by is None and proposal.status == "rejected" and proposal.stage == "audit_gate":
        # Pages showing one proposal: its reviews are at hand (prefetched or one query).
        rejected_by = next(
            (r.reviewer.get_username() for r in proposal.reviews.all() if r.decision == "reject"),
            None,
        )
    return wording.closed_reason(
        status=proposal.status,
        stage=proposal.stage,
        reason=proposal.reason,
        rejected_by=rejected_by,
    )


@register.filter
def moment(value: datetime | None) -> SafeString | str:
    """A time to the second, how long ago, and full precision in the tooltip.

    console.js keeps the relative part current on pages that stay open.
    """
    if value is None:
        return "—"
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{}">{}</time> <span class="ago" data-since="{}">{}</span>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S.%f UTC"),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        utc.isoformat(),
        "(" + wording.ago((timezone.now() - value).total_seconds()) + ")",
    )


@register.filter
def passed_tests(results: Any) -> list[Any]:
    return [r for r in results if r.status == "passed"]
