"""Publishing gate tasks: the Redis shortcut pushes what Celery would, and only where it applies.

tests/testgate/test_worker_faults.py runs real workers on gates published through the shortcut.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from console.celery import app as celery_app
from patches.tasks import run_test_gate
from patches.testgate import publish
from patches.testgate.publish import redis_queue, task_publish

URL = "redis://127.0.0.1:6379/7"


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """A Redis database of its own as the broker, with tasks published rather than run eagerly."""
    celery_app.conf.task_always_eager = False  # the suite's conftest turns it back on
    monkeypatch.setenv("CELERY_BROKER_URL", URL)  # what conf.broker_url reads first
    client = redis.Redis.from_url(URL)
    client.flushdb()
    yield client
    client.flushdb()


def _comparable(raw: bytes) -> dict[str, Any]:
    """A pushed message, its body decoded, without what is new on every publish."""
    message = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    for fresh in ("id", "root_id"):
        message["headers"].pop(fresh)
    for fresh in ("correlation_id", "delivery_tag"):
        message["properties"].pop(fresh)
    return message


def test_the_shortcut_pushes_the_message_celery_would_push(broker):
    with celery_app.connection_for_write(URL) as connection:
        run_test_gate.apply_async(args=(42,), connection=connection)
    by_celery = broker.rpop("celery")
    task_publish(run_test_gate, 42)
    by_shortcut = broker.rpop("celery")
    assert by_celery is not None and by_shortcut is not None
    assert _comparable(by_shortcut) == _comparable(by_celery)
    assert json.loads(by_shortcut)["headers"]["task"] == "patches.run_test_gate"
    assert broker.llen("celery") == 0


def test_each_publish_is_a_new_task(broker):
    task_publish(run_test_gate, 1)
    task_publish(run_test_gate, 1)
    ids = {json.loads(raw)["headers"]["id"] for raw in broker.lrange("celery", 0, -1)}
    assert len(ids) == 2


@pytest.mark.parametrize(
    "url", ["filesystem://", "amqp://guest@127.0.0.1:5672//", "redis+socket:///tmp/redis.sock"]
)
def test_other_brokers_take_celerys_path(broker, monkeypatch, url):
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    assert redis_queue(celery_app) is None


@pytest.mark.parametrize(
    "setting",
    [
        {"task_always_eager": True},
        {"task_routes": {"patches.*": {"queue": "gates"}}},
        {"task_default_priority": 5},
        {"broker_transport_options": {"global_keyprefix": "console:"}},
    ],
)
def test_eager_mode_routes_priorities_and_key_prefixes_take_celerys_path(broker, setting):
    assert redis_queue(celery_app) is not None
    saved = {name: celery_app.conf[name] for name in setting}
    celery_app.conf.update(setting)
    publish.forget_brokers()  # the choice is made once per broker URL
    try:
        assert redis_queue(celery_app) is None
    finally:
        celery_app.conf.update(saved)
        publish.forget_brokers()


def test_celerys_path_is_taken_when_the_shortcut_does_not_apply(broker, monkeypatch):
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(run_test_gate, "delay", lambda *args: sent.append(args))
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
    task_publish(run_test_gate, 7)
    assert sent == [(7,)]
    assert broker.llen("celery") == 0
