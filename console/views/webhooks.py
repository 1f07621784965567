"""Webhook subscriptions (admins only): cursor, lag, state, last attempts; pause and resume."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console.views.access import admin_view
from console.webhooks.models import WebhookSubscription
from console.webhooks.selectors import webhook_rows
from console.webhooks.services import webhook_pause, webhook_resume


def _subscription(subscription_id: int) -> WebhookSubscription:
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        raise Http404(f"No webhook #{subscription_id}.")
    return subscription


@require_GET
@admin_view
def webhook_list(request: HttpRequest) -> HttpResponse:
    head, rows = webhook_rows()
    return render(request, "console/webhooks.html", {"head": head, "rows": rows})


@require_POST
@admin_view
def webhook_resume_view(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = webhook_resume(subscription=_subscription(subscription_id))
    messages.success(
        request,
        f"Webhook #{subscription.pk} resumed: delivery continues after seq {subscription.cursor}.",
    )
    return redirect("webhooks")


@require_POST
@admin_view
def webhook_pause_view(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = webhook_pause(subscription=_subscription(subscription_id))
    messages.success(request, f"Webhook #{subscription.pk} paused.")
    return redirect("webhooks")
