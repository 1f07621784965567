"""Read queries for the webhooks page: three queries whatever the number of subscriptions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from console.webhooks.models import WebhookAttempt, WebhookSubscription
from patches.log import chain_head

SHOWN_ATTEMPTS = 5


@dataclass(frozen=True)
class WebhookRow:
    subscription: WebhookSubscription
    lag: int  # events of the log after the cursor: not yet delivered or looked at
    attempts: list[WebhookAttempt]


def webhook_rows() -> tuple[int, list[WebhookRow]]:
    """(the log's head seq, one row per subscription with its last attempts)."""
    head, _ = chain_head()
    # The stored attempts are bounded per subscription (delivery.KEEP_ATTEMPTS), so prefetching
    # them all and showing the first few stays small.
    subscriptions = WebhookSubscription.objects.select_related("agent").prefetch_related(
        Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("-pk"))
    )
    return head, [
        WebhookRow(
            subscription=s,
            lag=max(0, head - s.cursor),
            attempts=list(s.attempts.all())[:SHOWN_ATTEMPTS],
        )
        for s in subscriptions.order_by("pk")
    ]
