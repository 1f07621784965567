"""Webhook delivery from the log to a real receiver: order, signatures, retries, SSRF guard."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from console.webhooks.delivery import GIVE_UP_AFTER, KEEP_ATTEMPTS, webhooks_deliver
from console.webhooks.models import WebhookState, WebhookSubscription
from console.webhooks.services import webhook_create, webhook_resume
from patches.log import chain_head
from patches.models import Event
from tests.factories import make_agent, make_target
from tests.webhooks.receiver import Receiver, signature_valid


def _subscribe(receiver: Receiver, kinds: tuple[str, ...] = ("TargetCreated",), **extra):  # type: ignore[no-untyped-def]
    created = webhook_create(url=receiver.url, event_kinds=kinds, actor="user:test", **extra)
    return created.subscription, created.secret


def _deliver_until_idle(now=None) -> None:  # type: ignore[no-untyped-def]
    for _ in range(100):
        if webhooks_deliver(now=now).subscriptions == 0:
            return
    raise AssertionError("delivery never caught up")


def test_two_hundred_events_arrive_in_order_each_signed(receiver, db):
    make_target("before")  # before the subscription: not delivered
    subscription, secret = _subscribe(receiver)
    for i in range(200):
        make_target(f"t{i:03d}")

    first = webhooks_deliver()
    _deliver_until_idle()

    assert first.delivered == 100  # a bounded batch per subscription and run
    expected = list(
        Event.objects.filter(kind="TargetCreated", seq__gt=subscription.cursor).order_by("seq")
    )
    events = [d.event for d in receiver.deliveries]
    assert [e["seq"] for e in events] == [e.seq for e in expected]
    assert [e["payload"]["target"] for e in events] == [f"t{i:03d}" for i in range(200)]
    for delivery, event in zip(receiver.deliveries, expected, strict=True):
        assert delivery.headers["webhook-id"] == event.hash
        assert delivery.headers["content-type"] == "application/json"
        assert signature_valid(secret, delivery.headers, delivery.body)
    subscription.refresh_from_db()
    assert subscription.cursor == chain_head()[0]


def test_the_body_is_the_event_as_the_api_shows_it(receiver, db):
    auditor = make_agent("auditor")
    auditor.agent.scopes = ["log:read"]
    auditor.agent.save()
    _subscribe(receiver)
    make_target("invoices")
    webhooks_deliver()

    (delivery,) = receiver.deliveries
    seq = delivery.event["seq"]
    api = Client().get(f"/api/v1/events?after={seq - 1}&limit=1", **auditor.auth).json()
    assert api == [delivery.event]


def test_a_forged_or_altered_delivery_fails_the_check(receiver, db):
    _, secret = _subscribe(receiver)
    make_target("invoices")
    webhooks_deliver()
    (delivery,) = receiver.deliveries
    assert signature_valid(secret, delivery.headers, delivery.body)
    assert not signature_valid(secret, delivery.headers, delivery.body + b" ")
    other = webhook_create(url=receiver.url, event_kinds=["X"], actor="user:test").secret
    assert not signature_valid(other, delivery.headers, delivery.body)


def test_only_the_kinds_and_targets_asked_for_are_delivered(receiver, db):
    make_target("billing")
    make_target("support")
    _subscribe(receiver, kinds=("TargetCreated", "TargetSettingsChanged"), target_names=["billing"])
    make_target("support-2")
    make_target("billing-2")
    webhooks_deliver()
    assert receiver.deliveries == []
    subscription = WebhookSubscription.objects.get()
    assert subscription.cursor == chain_head()[0]  # looked at, done with, not delivered


def test_a_receiver_down_for_three_rounds_gets_everything_in_order_after(receiver, db):
    subscription, secret = _subscribe(receiver)
    for i in range(5):
        make_target(f"t{i}")
    expected = list(
        Event.objects.filter(kind="TargetCreated", seq__gt=subscription.cursor).order_by("seq")
    )
    receiver.status = 503
    now = timezone.now()
    delays = []
    for _ in range(3):
        report = webhooks_deliver(now=now)
        assert report.failed == 1 and report.delivered == 0
        subscription.refresh_from_db()
        # Not due before its next attempt: a run in between sends nothing.
        assert (
            webhooks_deliver(now=subscription.next_attempt_at - timedelta(seconds=1)).subscriptions
            == 0
        )
        attempt = subscription.attempts.order_by("-pk").first()
        delays.append(subscription.next_attempt_at - attempt.attempted_at)
        now = subscription.next_attempt_at
    assert delays == [timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2)]
    assert subscription.cursor == expected[0].seq - 1  # nothing skipped while down

    receiver.status = 200
    _deliver_until_idle(now)

    accepted = [d.event["seq"] for d in receiver.accepted()]
    assert accepted == [e.seq for e in expected]
    for delivery in receiver.deliveries:
        # The failed tries were all the first event, under its one webhook-id.
        event = next(e for e in expected if e.seq == delivery.event["seq"])
        assert delivery.headers["webhook-id"] == event.hash
        assert signature_valid(secret, delivery.headers, delivery.body)
    assert [d.event["seq"] for d in receiver.deliveries[:4]] == [expected[0].seq] * 4
    subscription.refresh_from_db()
    assert (subscription.failures, subscription.state) == (0, WebhookState.ACTIVE)


def test_after_a_day_of_failures_the_subscription_is_failing_until_resumed(receiver, db):
    subscription, _ = _subscribe(receiver)
    make_target("invoices")
    receiver.status = 500
    start = now = timezone.now()
    rounds = 0
    while True:
        webhooks_deliver(now=now)
        rounds += 1
        subscription.refresh_from_db()
        if subscription.state != WebhookState.ACTIVE:
            break
        now = subscription.next_attempt_at
    assert subscription.state == WebhookState.FAILING
    assert now - start >= GIVE_UP_AFTER
    # 5 quick retries, then hourly for the rest of the day.
    assert rounds == 6 + 24
    assert subscription.attempts.count() == KEEP_ATTEMPTS
    assert webhooks_deliver(now=now + timedelta(days=2)).subscriptions == 0  # paused

    receiver.status = 200
    webhook_resume(subscription=subscription)
    webhooks_deliver(now=now + timedelta(days=2))
    assert [d.event["payload"]["target"] for d in receiver.accepted()] == ["invoices"]


def test_a_redirect_is_not_followed_and_counts_as_a_failure(receiver, db):
    subscription, _ = _subscribe(receiver)
    make_target("invoices")
    receiver.status, receiver.location = 307, receiver.url + "/elsewhere"
    report = webhooks_deliver()
    assert report.failed == 1
    assert receiver.paths == ["/hooks"]
    attempt = subscription.attempts.get()
    assert attempt.status_code == 307 and "not followed" in attempt.error


def test_a_private_address_is_refused_at_delivery_when_no_longer_allowed(receiver, db, settings):
    subscription, _ = _subscribe(receiver)
    make_target("invoices")
    settings.WEBHOOK_ALLOW_PRIVATE = False
    report = webhooks_deliver()
    assert report.failed == 1
    assert receiver.deliveries == []
    attempt = subscription.attempts.get()
    assert "refused" in attempt.error and "127.0.0.1" in attempt.error
    subscription.refresh_from_db()
    assert subscription.cursor == chain_head()[0] - 1


def test_a_leased_subscription_is_not_delivered_by_a_second_run(receiver, db):
    subscription, _ = _subscribe(receiver)
    make_target("invoices")
    now = timezone.now()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        lease_token="another-worker", lease_until=now + timedelta(seconds=30)
    )
    assert webhooks_deliver(now=now).subscriptions == 0
    assert receiver.deliveries == []
    # A lease that ran out (its worker died) is taken over.
    assert webhooks_deliver(now=now + timedelta(seconds=31)).delivered == 1
