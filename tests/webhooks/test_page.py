"""The webhooks page (admins only): cursor, lag, state, last attempts; Resume and Pause."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from console.webhooks.delivery import webhooks_deliver
from console.webhooks.models import WebhookAttempt, WebhookState, WebhookSubscription
from console.webhooks.services import webhook_create
from tests.factories import make_reviewer, make_target


def _admin_client() -> Client:
    client = Client()
    client.force_login(make_reviewer("alice", admin=True))
    return client


def _subscription(url: str = "http://127.0.0.1:9/hooks") -> WebhookSubscription:
    return webhook_create(url=url, event_kinds=["TargetCreated"], actor="user:test").subscription


def test_admins_see_cursor_lag_state_and_last_attempts(receiver, db):
    subscription = _subscription(receiver.url)
    make_target("billing")
    receiver.status = 503
    webhooks_deliver()
    make_target("support")
    html = _admin_client().get("/webhooks/").content.decode()
    section = html.split(f'data-testid="webhook-{subscription.pk}"', 1)[1]
    assert f'data-testid="webhook-cursor">{subscription.cursor}<' in section
    assert 'data-testid="webhook-lag">2<' in section
    assert 'data-testid="webhook-state">active<' in section
    assert "HTTP 503" in section and "next attempt" in section


def test_a_failing_subscription_is_shown_and_resumed_by_post(db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    subscription = _subscription()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        state=WebhookState.FAILING, failures=30, failing_since=timezone.now()
    )
    client = _admin_client()
    assert 'data-testid="webhook-state">failing<' in client.get("/webhooks/").content.decode()
    response = client.post(f"/webhooks/{subscription.pk}/resume/")
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.state, subscription.failures) == (WebhookState.ACTIVE, 0)
    assert client.post(f"/webhooks/{subscription.pk}/pause/").status_code == 302
    subscription.refresh_from_db()
    assert subscription.state == WebhookState.PAUSED


def test_reviewers_get_403_and_change_nothing(db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    subscription = _subscription()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(state=WebhookState.FAILING)
    client = Client()
    client.force_login(make_reviewer("rita"))
    assert client.get("/webhooks/").status_code == 403
    assert client.post(f"/webhooks/{subscription.pk}/resume/").status_code == 403
    subscription.refresh_from_db()
    assert subscription.state == WebhookState.FAILING


def test_anonymous_people_are_sent_to_the_login_page(db):
    response = Client().get("/webhooks/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_resume_needs_the_csrf_token(db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    subscription = _subscription()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(state=WebhookState.FAILING)
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_reviewer("alice", admin=True))
    assert client.post(f"/webhooks/{subscription.pk}/resume/").status_code == 403
    subscription.refresh_from_db()
    assert subscription.state == WebhookState.FAILING


def test_an_unknown_subscription_is_404(db):
    assert _admin_client().post("/webhooks/999/resume/").status_code == 404


def _queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/webhooks/").status_code == 200
    return len(captured)


def _with_attempts(subscription: WebhookSubscription, count: int) -> None:
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(
            subscription=subscription,
            event_seq=1,
            webhook_id="sha256:" + "0" * 64,
            attempted_at=timezone.now(),
            status_code=500,
            error="HTTP 500",
        )
        for _ in range(count)
    )


def test_the_page_costs_the_same_queries_for_one_or_many_subscriptions(db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    client = _admin_client()
    _with_attempts(_subscription(), 3)
    one = _queries(client)
    for _ in range(6):
        _with_attempts(_subscription(), 3)
    assert _queries(client) == one
