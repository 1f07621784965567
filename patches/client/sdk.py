"""The resilient SDK an agent reads its behaviour through: TTL cache, ETag revalidation, last
good copy on disk, fallback, opt-in `observed` reports, retries with backoff.

    from patches.client.sdk import TargetReader
    reader = TargetReader(url="https://console.example", token="pat_…", instance="worker-3")
    prompt = reader.get_target("system_prompt", fallback="You are a helpful agent.").content

Within `ttl` seconds a read is answered from memory; after it, the SDK revalidates with
`If-None-Match` (a 304 costs no body). When the console cannot be reached (connection errors,
or 429 / 5xx after the retries) it serves, in order: the copy in memory, the last good copy on
disk (refused if its content does not match its content_hash), `fallback`; with none of them it
raises the error. Any other error answer (unknown target, bad token) is raised at once: serving
an old copy would hide a mistake the agent's operator must fix.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patches.client import AgentClient, Transport, target_path, urllib_transport
from patches.client.cache import LastGoodCopies, content_hash_of
from patches.client.problems import ApiError, Unreachable
from patches.client.retry import RETRY_STATUSES, Backoff, retrying

logger = logging.getLogger("patches.client")

DEFAULT_TTL_S = 60.0
DEFAULT_OBSERVED_EVERY_S = 300.0
_NO_FALLBACK: Any = object()


@dataclass(frozen=True)
class TargetCopy:
    """One version of a target as the SDK served it, and where it came from.

    source: "console" (a fresh 200), "revalidated" (304: the copy held is still current),
    "memory" (within the TTL, or the console unreachable), "disk" (the last good copy, the
    console unreachable) or "fallback" (the caller's fallback; version is None). stale is True
    when the console could not confirm the copy just now.
    """

    name: str
    patch_type: str | None
    version: int | None
    content: Any
    content_hash: str
    label: str | None
    rollout: dict[str, Any] | None
    source: str
    stale: bool = False

    @classmethod
    def of(cls, body: dict[str, Any], source: str, *, stale: bool = False) -> TargetCopy:
        return cls(
            name=body["name"],
            patch_type=body.get("patch_type"),
            version=body.get("version"),
            content=body["content"],
            content_hash=body["content_hash"],
            label=body.get("label"),
            rollout=body.get("rollout"),
            source=source,
            stale=stale,
        )


@dataclass
class _Held:
    body: dict[str, Any]
    etag: str
    fresh_until: float


class TargetReader:
    """Reads targets by label and instance for one agent token; safe to share in a process
    only from one thread at a time (give each thread its own reader)."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        instance: str | None = None,
        ttl: float = DEFAULT_TTL_S,
        cache_dir: Path | None = None,
        report_observed: bool = False,
        observed_every: float = DEFAULT_OBSERVED_EVERY_S,
        backoff: Backoff | None = None,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0:
            raise ValueError("ttl must be >= 0 seconds")
        if report_observed and not instance:
            raise ValueError("report_observed needs the instance name to report under")
        raw = transport or urllib_transport()
        self.client = AgentClient(url=url, token=token, transport=retrying(raw, backoff))
        # Reports go out once, without retries: a report that waits out a 429 would hold up
        # the read it follows, and the next read sends a fresh one anyway.
        once = Backoff(attempts=1)
        self._telemetry = AgentClient(url=url, token=token, transport=retrying(raw, once))
        self.instance = instance
        self.ttl = ttl
        self.copies = LastGoodCopies(cache_dir)
        self.report_observed = report_observed
        self.observed_every = observed_every
        self.clock = clock
        self._held: dict[tuple[str, str | None, str | None], _Held] = {}
        self._reported: dict[tuple[str, str], tuple[str, float]] = {}

    def get_target(
        self,
        name: str,
        *,
        label: str | None = None,
        instance: str | None = None,
        fallback: Any = _NO_FALLBACK,
    ) -> TargetCopy:
        """The version `label` (default: production) serves to `instance` (default: the
        reader's, else the agent's name)."""
        instance = instance or self.instance
        key = (name, label, instance)
        now = self.clock()
        held = self._held.get(key)
        if held is not None and now < held.fresh_until:
            return TargetCopy.of(held.body, "memory")
        kept = None
        if held is None:
            kept = self.copies.load(name, label, instance)
        etag = held.etag if held is not None else (_etag(kept) if kept is not None else None)
        try:
            answer = self.client._call(
                "GET",
                target_path(name, label=label, instance=instance),
                headers={"If-None-Match": etag} if etag else None,
            )
        except (Unreachable, ApiError) as exc:
            if isinstance(exc, ApiError) and exc.status not in RETRY_STATUSES:
                raise
            return self._unreachable(key, exc, held, kept, fallback)
        if answer.status == 304:
            body = held.body if held is not None else kept
            assert body is not None  # an ETag was sent only with a copy in hand
            source = "revalidated"
        else:
            body = answer.json()
            try:
                self.copies.save(name, label, instance, body)
            except OSError as exc:  # a full or read-only disk costs the fallback, not the read
                logger.warning("could not keep the last good copy of %s: %s", name, exc)
            source = "console"
        self._held[key] = _Held(body, answer.headers.get("etag") or _etag(body), now + self.ttl)
        copy = TargetCopy.of(body, source)
        self._observe(copy, instance, now)
        return copy

    def get_content(self, name: str, **options: Any) -> Any:
        """Just the content of get_target(name, **options)."""
        return self.get_target(name, **options).content

    def observed(
        self,
        name: str,
        content_hash: str,
        *,
        instance: str | None = None,
        label: str | None = None,
    ) -> None:
        """Tell the console which content this instance runs now (POST …/observed); `label`
        (default: production) is the label the instance reads, for the fleet view's drift."""
        instance = instance or self.instance
        if not instance:
            raise ValueError("observed needs an instance name")
        self._telemetry.observed(
            name, instance=instance, content_hash=content_hash, label=label or None
        )

    def invalidate(self, name: str | None = None) -> None:
        """Forget what memory holds (for `name`, or all): the next read asks the console."""
        for key in [k for k in self._held if name is None or k[0] == name]:
            del self._held[key]

    def _unreachable(
        self,
        key: tuple[str, str | None, str | None],
        error: Exception,
        held: _Held | None,
        kept: dict[str, Any] | None,
        fallback: Any,
    ) -> TargetCopy:
        name = key[0]
        if held is not None:
            logger.warning("console unreachable (%s); serving %s from memory", error, name)
            return TargetCopy.of(held.body, "memory", stale=True)
        if kept is None:
            kept = self.copies.load(*key)
        if kept is not None:
            logger.warning("console unreachable (%s); serving %s from disk", error, name)
            return TargetCopy.of(kept, "disk", stale=True)
        if fallback is not _NO_FALLBACK:
            logger.warning("console unreachable (%s); serving the fallback of %s", error, name)
            return TargetCopy(
                name=name,
                patch_type=None,
                version=None,
                content=fallback,
                content_hash=content_hash_of(fallback),
                label=key[1],
                rollout=None,
                source="fallback",
                stale=True,
            )
        raise error

    def _observe(self, copy: TargetCopy, instance: str | None, now: float) -> None:
        if not self.report_observed or instance is None:
            return
        last = self._reported.get((copy.name, instance))
        if (
            last is not None
            and last[0] == copy.content_hash
            and now - last[1] < self.observed_every
        ):
            return
        try:
            self.observed(copy.name, copy.content_hash, instance=instance, label=copy.label)
        except (Unreachable, ApiError) as exc:
            # Telemetry: a lost report must never cost the agent its read.
            logger.warning("could not report observed %s: %s", copy.name, exc)
            return
        self._reported[(copy.name, instance)] = (copy.content_hash, now)


def _etag(body: dict[str, Any]) -> str:
    return f'"{body["content_hash"]}"'


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
