"""Django admin for webhooks: no add form, nothing editable, the secret never shown; actions."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from console.webhooks.models import WebhookState, WebhookSubscription
from console.webhooks.services import webhook_create
from tests.factories import make_reviewer


def _admin() -> Client:
    client = Client()
    client.force_login(make_reviewer("ada", admin=True))
    return client


def _hook(settings) -> tuple[WebhookSubscription, str]:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True
    created = webhook_create(url="http://127.0.0.1:9/h", event_kinds=["PatchApplied"], actor="t")
    return created.subscription, created.secret


def test_admins_pause_and_resume_with_actions(db, settings):
    hook, _ = _hook(settings)
    client = _admin()
    changelist = reverse("admin:console_webhooksubscription_changelist")
    for action, state in (("pause", WebhookState.PAUSED), ("resume", WebhookState.ACTIVE)):
        response = client.post(changelist, {"action": action, "_selected_action": [hook.pk]})
        assert response.status_code == 302
        hook.refresh_from_db()
        assert hook.state == state


def test_no_add_form_no_edits_and_no_secret_on_the_page(db, settings):
    hook, secret = _hook(settings)
    client = _admin()
    assert client.get(reverse("admin:console_webhooksubscription_add")).status_code == 403
    change = reverse("admin:console_webhooksubscription_change", args=[hook.pk])
    page = client.get(change).content.decode()
    assert hook.url in page
    assert secret not in page and hook.sealed_secret not in page
    client.post(change, {"url": "http://127.0.0.1:9/other", "cursor": 0, "state": "paused"})
    hook.refresh_from_db()
    assert (hook.url, hook.state) == ("http://127.0.0.1:9/h", WebhookState.ACTIVE)


def test_staff_who_are_not_superusers_cannot_act(db, settings):
    hook, _ = _hook(settings)
    staff = make_reviewer("sam")
    staff.is_staff = True
    staff.save()
    client = Client()
    client.force_login(staff)
    changelist = reverse("admin:console_webhooksubscription_changelist")
    assert client.get(changelist).status_code == 403  # URLs may carry the receiver's token
    client.post(changelist, {"action": "pause", "_selected_action": [hook.pk]})
    hook.refresh_from_db()
    assert hook.state == WebhookState.ACTIVE
