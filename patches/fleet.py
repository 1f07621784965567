"""The fleet: what agent instances report they run (`observed`), and where that drifts from
what their label serves them. Telemetry, kept out of the log: one row per (agent, instance,
target), the latest report wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from patches.canonical import is_hash
from patches.label_models import PRODUCTION, Label, Observation
from patches.labels import LabelError, label_name_check
from patches.models import Agent, Target, TargetVersion

MAX_INSTANCE_CHARS = 200


class ObservedRefused(ValueError):
    """A report that is not stored; `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


def _rate_limit(agent: Agent) -> None:
    # A fixed window per agent in the cache: reports are frequent and cheap, and a flood from
    # one agent must not turn into a write per request.
    window = settings.OBSERVED_RATE_WINDOW_S
    key = f"observed-rate:{agent.pk}:{int(timezone.now().timestamp()) // window}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > settings.OBSERVED_RATE_LIMIT:
        raise ObservedRefused(
            429,
            f"agent {agent.name} sent more than {settings.OBSERVED_RATE_LIMIT} observed reports "
            f"in {window} s; report less often",
            retry_after=window,
        )


def observed_record(
    *, agent: Agent, target_name: str, instance: str, content_hash: str, label: str = PRODUCTION
) -> Observation:
    """Store what `instance` of `agent` runs now of the target; refusals raise ObservedRefused."""
    if not instance or len(instance) > MAX_INSTANCE_CHARS or "\x00" in instance:
        raise ObservedRefused(422, f"instance must be 1 to {MAX_INSTANCE_CHARS} characters")
    if not is_hash(content_hash):
        raise ObservedRefused(422, 'content_hash must be "sha256:" and 64 lowercase hex digits')
    try:
        label_name_check(label)
    except LabelError as exc:
        raise ObservedRefused(422, str(exc)) from exc
    target = None if "\x00" in target_name else Target.objects.filter(name=target_name).first()
    if target is None:
        raise ObservedRefused(404, f"no target named {target_name!r}")
    _rate_limit(agent)
    now = timezone.now()
    fields = {"content_hash": content_hash, "label": label, "last_seen": now}
    updated = Observation.objects.filter(agent=agent, target=target, instance=instance).update(
        **fields
    )
    if updated:
        return Observation(agent=agent, target=target, instance=instance, **fields)
    known = Observation.objects.filter(agent=agent, target=target).count()
    if known >= settings.OBSERVED_MAX_INSTANCES:
        raise ObservedRefused(
            429,
            f"agent {agent.name} already reports {known} instances of {target.name}, the most "
            "it may",
        )
    try:
        with transaction.atomic():
            return Observation.objects.create(
                agent=agent, target=target, instance=instance, **fields
            )
    except IntegrityError:
        # Another report of the same instance created the row first; the latest still wins.
        Observation.objects.filter(agent=agent, target=target, instance=instance).update(**fields)
        return Observation(agent=agent, target=target, instance=instance, **fields)


@dataclass(frozen=True)
class FleetRow:
    target: str
    agent: str
    instance: str
    label: str
    content_hash: str
    version: int | None  # the version with that content hash, None when it is no version
    served: int | None  # what the label serves this instance, None when the label is gone
    last_seen: datetime

    @property
    def drift(self) -> str:
        """Why this instance runs something its label does not serve it, or "" when it does."""
        if self.version is None:
            return "runs a content hash that is no version of the target"
        if self.served is None:
            return f"reports label {self.label!r}, which the target does not have"
        if self.version != self.served:
            return f"runs v{self.version}; its label {self.label} serves it v{self.served}"
        return ""


def fleet_rows(target_ids: Iterable[int]) -> list[FleetRow]:
    """Every reported instance of these targets with its drift: three queries in all."""
    ids = list(target_ids)
    observations = list(
        Observation.objects.filter(target_id__in=ids)
        .select_related("agent", "target")
        .order_by("target__name", "instance", "agent__name")
    )
    versions = {
        (target_id, content_hash): version
        for target_id, content_hash, version in TargetVersion.objects.filter(
            target_id__in=ids
        ).values_list("target_id", "content_hash", "version")
    }
    labels = {
        (label.target_id, label.name): label for label in Label.objects.filter(target_id__in=ids)
    }
    rows = []
    for seen in observations:
        label = labels.get((seen.target_id, seen.label))
        served = (
            label.state.served(target=seen.target.name, label=label.name, instance=seen.instance)
            if label
            else None
        )
        rows.append(
            FleetRow(
                target=seen.target.name,
                agent=seen.agent.name,
                instance=seen.instance,
                label=seen.label,
                content_hash=seen.content_hash,
                version=versions.get((seen.target_id, seen.content_hash)),
                served=served,
                last_seen=seen.last_seen,
            )
        )
    return rows


def fleet_drift_count(target_ids: Iterable[int]) -> int:
    return sum(1 for row in fleet_rows(target_ids) if row.drift)
