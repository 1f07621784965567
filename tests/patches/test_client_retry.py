"""Bounded retries with backoff: what is retried, how often, how long it waits."""

from __future__ import annotations

import urllib.error

import pytest

from patches.client import Answer
from patches.client.problems import Unreachable
from patches.client.retry import Backoff, retrying


class Script:
    """A transport that plays a list of outcomes (an Answer, or an exception to raise)."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls: list[str] = []

    def __call__(self, method, url, headers, body):
        self.calls.append(method)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def ok() -> Answer:
    return Answer(200, {}, b"{}")


def refused() -> urllib.error.URLError:
    return urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))


def policy(slept: list[float], attempts: int = 4) -> Backoff:
    return Backoff(
        attempts=attempts, first=0.25, longest=8.0, sleep=slept.append, jitter=lambda: 1.0
    )


def test_a_read_is_retried_on_5xx_429_and_connection_errors_with_growing_waits():
    slept: list[float] = []
    script = Script(Answer(503, {}, b""), refused(), Answer(429, {}, b""), ok())
    answer = retrying(script, policy(slept))("GET", "http://c/api/v1/targets", {}, None)
    assert answer.status == 200
    assert script.calls == ["GET"] * 4
    assert slept == [0.25, 0.5, 1.0]


def test_retries_are_bounded_and_the_last_answer_is_returned():
    slept: list[float] = []
    script = Script(*[Answer(500, {}, b"")] * 3)
    answer = retrying(script, policy(slept, attempts=3))("GET", "http://c/x", {}, None)
    assert answer.status == 500 and len(script.calls) == 3 and len(slept) == 2


def test_a_console_that_never_answers_raises_unreachable_after_the_last_attempt():
    slept: list[float] = []
    script = Script(refused(), refused(), refused())
    with pytest.raises(Unreachable):
        retrying(script, policy(slept, attempts=3))("GET", "http://c/x", {}, None)
    assert len(script.calls) == 3


def test_retry_after_is_honoured_up_to_the_longest_wait():
    slept: list[float] = []
    script = Script(
        Answer(429, {"retry-after": "3"}, b""), Answer(503, {"retry-after": "600"}, b""), ok()
    )
    retrying(script, policy(slept))("GET", "http://c/x", {}, None)
    assert slept == [3.0, 8.0]


def test_a_submit_is_not_retried_after_a_timeout_as_it_may_have_been_stored():
    slept: list[float] = []
    script = Script(TimeoutError("timed out"), ok())
    with pytest.raises(Unreachable):
        retrying(script, policy(slept))("POST", "http://c/api/v1/proposals", {}, b"{}")
    assert script.calls == ["POST"] and slept == []


def test_a_submit_is_retried_when_refused_or_answered_503_but_not_on_500():
    slept: list[float] = []
    script = Script(refused(), Answer(503, {}, b""), Answer(500, {}, b""), ok())
    answer = retrying(script, policy(slept))("POST", "http://c/api/v1/proposals", {}, b"{}")
    assert answer.status == 500 and len(script.calls) == 3


def test_a_4xx_answer_is_never_retried():
    slept: list[float] = []
    script = Script(Answer(404, {}, b""), ok())
    assert retrying(script, policy(slept))("GET", "http://c/x", {}, None).status == 404
    assert len(script.calls) == 1


def test_waits_are_spread_by_jitter_between_half_and_the_full_wait():
    waits = {Backoff(jitter=lambda j=j: j).delay(2, None) for j in (0.0, 0.5, 0.999)}
    assert min(waits) == pytest.approx(0.5) and max(waits) < 1.0
