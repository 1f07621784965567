"""Delivering the log to subscriptions: claim, post in seq order, advance or back off.

Per subscription, events go out one at a time in seq order; the cursor moves past an event only
once it got a 2xx, so delivery is at least once and never skips (a crash between the 2xx and
the cursor update sends that event again, with the same webhook-id). A round claims due
subscriptions one at a time, each right before delivering it, with a lease (a token and an
expiry on the row, taken in a short transaction; SKIP LOCKED on PostgreSQL), so no two workers
deliver one subscription at once and no database transaction stays open while a receiver
answers. Every write after the claim checks the token and renews the lease, so a round whose
lease ran out (a stuck worker) cannot move the cursor any more.

`now` starts the delivery clock (RoundClock): the task passes the wall clock, tests the times
they want.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from console.api.events import event_out
from console.webhooks.addresses import AddressRefused, destination_check
from console.webhooks.models import WebhookAttempt, WebhookState, WebhookSubscription
from console.webhooks.secrets import SecretUnavailable, secret_open, signature_headers
from console.webhooks.transport import ATTEMPT_TIMEOUT_S, Reply, post
from patches.agents import agent_events
from patches.log import chain_head
from patches.models import Event

logger = logging.getLogger(__name__)

# After the n-th failure in a row of one event, wait BACKOFF[n-1] (the last one repeating)…
BACKOFF = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
)
# …until the event has failed for this long: then the subscription is `failing`.
GIVE_UP_AFTER = timedelta(hours=24)
SUBSCRIPTIONS_PER_RUN = 50
EVENTS_PER_SUBSCRIPTION = 100
KEEP_ATTEMPTS = 20  # per subscription
# A round starts no new attempt after this long; the beat starts the next round soon after.
ROUND_BUDGET = timedelta(seconds=60)
# Renewed at every write; longer than one attempt can take.
LEASE = timedelta(seconds=ATTEMPT_TIMEOUT_S * 3)


@dataclass
class RunReport:
    delivered: int = 0
    failed: int = 0
    subscriptions: int = 0


def retry_delay(failures: int) -> timedelta:
    return BACKOFF[min(failures, len(BACKOFF)) - 1]


class RoundClock:
    """The delivery clock: the round's start time plus the real time elapsed since."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._started)


def webhooks_deliver(*, now: datetime | None = None) -> RunReport:
    """One delivery round: due subscriptions (bounded), one at a time, get their next events."""
    clock = RoundClock(now or timezone.now())
    head, _ = chain_head()
    report = RunReport()
    # Idle rounds read, never write: no write lock every few seconds on SQLite.
    if not _due(now=clock(), head=head).exists():
        return report
    last_pk = 0
    for _ in range(SUBSCRIPTIONS_PER_RUN):
        if clock() - clock.start > ROUND_BUDGET:
            break
        # Claimed one by one, right before delivering, so a lease never runs out while the
        # round is busy with an earlier subscription.
        subscription = _claim(now=clock(), head=head, after_pk=last_pk)
        if subscription is None:
            break
        last_pk = subscription.pk
        report.subscriptions += 1
        _deliver(subscription, clock=clock, head=head, report=report)
    return report


def _due(*, now: datetime, head: int) -> QuerySet[WebhookSubscription]:
    return (
        WebhookSubscription.objects.filter(state=WebhookState.ACTIVE, cursor__lt=head)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    )


def _claim(*, now: datetime, head: int, after_pk: int) -> WebhookSubscription | None:
    token = secrets.token_hex(16)
    with transaction.atomic():
        pk = (
            _due(now=now, head=head)
            .select_for_update(skip_locked=True)
            .filter(pk__gt=after_pk)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None
        WebhookSubscription.objects.filter(pk=pk).update(lease_token=token, lease_until=now + LEASE)
    return WebhookSubscription.objects.select_related("agent").get(pk=pk)


def matching_events(subscription: WebhookSubscription, *, head: int) -> QuerySet[Event]:
    """The events after the cursor (up to head) of the kinds asked, as the agent would see them."""
    agent = subscription.agent
    events = agent_events(agent=agent) if agent is not None else Event.objects.all()
    return (
        events.filter(seq__gt=subscription.cursor, seq__lte=head, kind__in=subscription.event_kinds)
        .select_related("proposal__target")
        .order_by("seq")
    )


def _about_targets(event: Event, names: list[str]) -> bool:
    if not names:
        return True
    if event.proposal is not None and event.proposal.target.name in names:
        return True
    target = json.loads(event.payload).get("target")
    return isinstance(target, str) and target in names


def _deliver(
    subscription: WebhookSubscription, *, clock: RoundClock, head: int, report: RunReport
) -> None:
    leased = WebhookSubscription.objects.filter(
        pk=subscription.pk, lease_token=subscription.lease_token
    )
    try:
        secret = secret_open(subscription.sealed_secret, subscription_id=subscription.pk)
    except SecretUnavailable as exc:
        _fail(subscription, leased, event=None, reply=Reply(None, str(exc)), now=clock())
        report.failed += 1
        return
    candidates = list(matching_events(subscription, head=head)[:EVENTS_PER_SUBSCRIPTION])
    for event in candidates:
        if not _about_targets(event, subscription.target_names):
            continue
        if clock() - clock.start > ROUND_BUDGET:
            # A slow receiver must not hold a worker (gates share them); the next round goes on.
            leased.update(lease_token="", lease_until=None)
            return
        attempted_at = clock()
        reply, duration_ms = _attempt(subscription, event, secret=secret)
        if reply.error:
            _fail(
                subscription,
                leased,
                event=event,
                reply=reply,
                now=attempted_at,
                duration_ms=duration_ms,
            )
            report.failed += 1
            return
        with transaction.atomic():
            moved = leased.update(
                cursor=event.seq,
                failures=0,
                failing_since=None,
                next_attempt_at=None,
                lease_until=clock() + LEASE,
            )
            if moved:
                _record(subscription, event, reply, now=attempted_at, duration_ms=duration_ms)
        if not moved:
            logger.warning("webhook %s: lease lost, another run continues", subscription.pk)
            return
        report.delivered += 1
    # Everything examined is done with; when fewer than a batch matched the kinds, nothing
    # else up to head concerns this subscription either.
    done_up_to = candidates[-1].seq if len(candidates) == EVENTS_PER_SUBSCRIPTION else head
    leased.filter(cursor__lt=done_up_to).update(cursor=done_up_to)
    leased.update(lease_token="", lease_until=None)


def _attempt(subscription: WebhookSubscription, event: Event, *, secret: str) -> tuple[Reply, int]:
    started = time.monotonic()
    try:
        # Checked again at every attempt: the name may resolve elsewhere by now.
        destination = destination_check(subscription.url)
    except AddressRefused as exc:
        return Reply(None, f"refused: {exc}"), 0
    # The body is the event exactly as GET /api/v1/events shows it (ninja's default json.dumps).
    body = json.dumps(event_out(event))
    headers = signature_headers(
        secret=secret, webhook_id=event.hash, sent_at=timezone.now(), body=body
    )
    reply = post(destination, body=body.encode("utf-8"), headers=headers)
    return reply, int((time.monotonic() - started) * 1000)


def _fail(
    subscription: WebhookSubscription,
    leased: QuerySet[WebhookSubscription],
    *,
    event: Event | None,
    reply: Reply,
    now: datetime,
    duration_ms: int = 0,
) -> None:
    failures = subscription.failures + 1
    failing_since = subscription.failing_since or now
    changes: dict[str, object] = {
        "failures": failures,
        "failing_since": failing_since,
        "lease_token": "",
        "lease_until": None,
    }
    if now - failing_since >= GIVE_UP_AFTER:
        changes.update(state=WebhookState.FAILING, next_attempt_at=None)
        logger.warning("webhook %s is failing: %s", subscription.pk, reply.error)
    else:
        changes["next_attempt_at"] = now + retry_delay(failures)
    with transaction.atomic():
        if leased.update(**changes):
            _record(subscription, event, reply, now=now, duration_ms=duration_ms)


def _record(
    subscription: WebhookSubscription,
    event: Event | None,
    reply: Reply,
    *,
    now: datetime,
    duration_ms: int,
) -> None:
    WebhookAttempt.objects.create(
        subscription=subscription,
        event_seq=event.seq if event else subscription.cursor + 1,
        webhook_id=event.hash if event else "",
        attempted_at=now,
        status_code=reply.status,
        error=reply.error[:500],
        duration_ms=duration_ms,
    )
    # Bounded history: the KEEP_ATTEMPTS most recent attempts of this subscription stay.
    kept = WebhookAttempt.objects.filter(subscription=subscription).order_by("-pk")
    oldest_kept = list(kept.values_list("pk", flat=True)[KEEP_ATTEMPTS - 1 : KEEP_ATTEMPTS])
    if oldest_kept:
        WebhookAttempt.objects.filter(subscription=subscription, pk__lt=oldest_kept[0]).delete()
