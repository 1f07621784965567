"""Bounded retries with exponential backoff around a client Transport.

Retried: answers 429, 500, 502, 503 and 504, and connection failures (refused, reset, DNS,
timeouts). Reads (GET) are retried on all of them. A POST is retried only where the console
certainly did not act on it: a refused connection, or a 429 / 503 answer; a timeout or a reset
in the middle of a submit is not retried, because the proposal may have been stored (sending
it again would be refused as a replayed nonce and hide the first answer).
"""

from __future__ import annotations

import http.client
import random
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field

from patches.client import Answer, Transport
from patches.client.problems import Unreachable

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
POST_RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


def _refused(exc: BaseException) -> bool:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, ConnectionRefusedError)


@dataclass
class Backoff:
    """attempts in all (the first included); waits first, 2 * first, 4 * first … up to longest,
    each scaled by a random factor in [0.5, 1) so a fleet that lost the console does not come
    back in step; a Retry-After answer header (seconds) is honoured up to longest."""

    attempts: int = 4
    first: float = 0.25
    longest: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = field(default=random.random)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first < 0 or self.longest < 0:
            raise ValueError("Backoff needs attempts >= 1 and non-negative waits")

    def delay(self, retry: int, answer: Answer | None) -> float:
        if answer is not None:
            try:
                asked = float(answer.headers.get("retry-after", ""))
            except ValueError:
                asked = -1.0
            if asked >= 0:
                return min(asked, self.longest)
        return min(self.first * 2**retry, self.longest) * (0.5 + self.jitter() / 2)


def retrying(transport: Transport, backoff: Backoff | None = None) -> Transport:
    """`transport` with bounded retries; raises Unreachable when every attempt failed to
    connect, and returns the last answer when every attempt was answered with a retried status."""
    policy = backoff or Backoff()

    def send(method: str, url: str, headers: dict[str, str], body: bytes | None) -> Answer:
        idempotent = method.upper() in IDEMPOTENT
        for attempt in range(policy.attempts):
            last = attempt == policy.attempts - 1
            try:
                answer = transport(method, url, headers, body)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if last or not (idempotent or _refused(exc)):
                    raise Unreachable(f"{method} {url}: {exc}") from exc
                policy.sleep(policy.delay(attempt, None))
                continue
            statuses = RETRY_STATUSES if idempotent else POST_RETRY_STATUSES
            if last or answer.status not in statuses:
                return answer
            policy.sleep(policy.delay(attempt, answer))
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    return send
