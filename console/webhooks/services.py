"""Webhook subscriptions: create (the secret is returned once), pause, resume."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from console.webhooks.addresses import AddressRefused, destination_check
from console.webhooks.models import WebhookState, WebhookSubscription
from console.webhooks.secrets import secret_new, secret_seal
from patches.log import chain_head
from patches.models import Agent, Target

_KIND = re.compile(r"[A-Z][A-Za-z0-9]{0,39}")
MAX_KINDS = 64
MAX_TARGETS = 256


class WebhookError(ValueError):
    """A subscription that cannot be made or changed as asked; the message says what to change."""


@dataclass(frozen=True)
class NewWebhook:
    subscription: WebhookSubscription
    secret: str  # shown once, to the admin who created it


def _names(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))


def webhook_create(
    *,
    url: str,
    event_kinds: Sequence[str],
    target_names: Sequence[str] = (),
    agent_name: str = "",
    from_seq: int | None = None,
    actor: str,
) -> NewWebhook:
    """A subscription that delivers the matching events after the log's head (or after from_seq)."""
    kinds = _names(event_kinds)
    if not kinds:
        raise WebhookError("name at least one event kind, e.g. --events PatchApplied,PatchRejected")
    if len(kinds) > MAX_KINDS:
        raise WebhookError(f"at most {MAX_KINDS} event kinds")
    bad = [kind for kind in kinds if not _KIND.fullmatch(kind)]
    if bad:
        raise WebhookError(f"not event kinds (like PatchApplied): {', '.join(map(repr, bad))}")
    targets = _names(target_names)
    if len(targets) > MAX_TARGETS:
        raise WebhookError(f"at most {MAX_TARGETS} targets")
    known = set(Target.objects.filter(name__in=targets).values_list("name", flat=True))
    missing = [name for name in targets if name not in known]
    if missing:
        raise WebhookError(f"unknown targets: {', '.join(missing)}")
    agent = None
    if agent_name:
        agent = Agent.objects.filter(name=agent_name).first()
        if agent is None:
            raise WebhookError(f"unknown agent {agent_name!r}")
    try:
        destination_check(url)
    except AddressRefused as exc:
        raise WebhookError(f"webhook URL refused: {exc}") from None
    head, _ = chain_head()
    if from_seq is not None and not 0 <= from_seq <= head:
        raise WebhookError(
            f"--from-seq must be between 0 and the log's head ({head}), got {from_seq}"
        )
    secret = secret_new()
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            url=url,
            event_kinds=kinds,
            target_names=targets,
            agent=agent,
            sealed_secret="",
            cursor=head if from_seq is None else from_seq,
            created_by=actor,
        )
        # Sealed with its own id as context, hence after the insert.
        subscription.sealed_secret = secret_seal(secret, subscription_id=subscription.pk)
        subscription.save(update_fields=["sealed_secret"])
    return NewWebhook(subscription=subscription, secret=secret)


def webhook_pause(*, subscription: WebhookSubscription) -> WebhookSubscription:
    WebhookSubscription.objects.filter(pk=subscription.pk).update(state=WebhookState.PAUSED)
    subscription.refresh_from_db()
    return subscription


def webhook_resume(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Active again, retrying the pending event at once with a fresh back-off; nothing skipped."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        state=WebhookState.ACTIVE,
        next_attempt_at=None,
        failures=0,
        failing_since=None,
    )
    subscription.refresh_from_db()
    return subscription
