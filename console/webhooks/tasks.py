"""The periodic Celery task that drives webhook delivery (beat: every WEBHOOK_INTERVAL_S)."""

from __future__ import annotations

from celery import shared_task

from console.webhooks.delivery import webhooks_deliver


# Run twice (a redelivered message, two beats): the leases keep each subscription to one run.
@shared_task(name="console.webhooks_deliver", ignore_result=True)
def deliver_webhooks() -> None:
    webhooks_deliver()
