"""Publishing gate tasks: straight onto a Redis broker's queue, or through Celery for any other.

Celery's publish (task.delay) costs about 1 ms of CPU per task here: routing, producer pool,
kombu's channel, a new redis-py client per message. That was a third of a signed submit's
server time (docs/performance.md). With a plain Redis broker and default routing, a task
message is one LPUSH of a JSON envelope onto the queue's list, so this module builds the
message with Celery's own `as_task_v2` and pushes it through one long-lived redis-py client.

What a worker receives is the message kombu would have pushed, header for header, apart from
the ids that are fresh on every publish: tests/testgate/test_publish.py publishes both ways
and compares them, and runs the task from a shortcut-published message on a real worker. Any
other broker, eager mode, custom task routes, queue priorities or key prefixes, and publishes
from inside a task (whose parent Celery records) take Celery's own path.
"""

from __future__ import annotations

import base64
import json
import uuid
from functools import cache
from typing import Any

import redis
from celery import Celery

_REDIS_SCHEMES = ("redis://", "rediss://")


class _RedisQueue:
    """One Redis list that a Celery worker consumes, and how to push a task message onto it."""

    def __init__(self, app: Celery, url: str) -> None:
        self.app = app
        self.queue = str(app.conf.task_default_queue)
        self.client = redis.Redis.from_url(url)

    def publish(self, task_name: str, args: tuple[Any, ...], **headers: Any) -> str:
        task_id = str(uuid.uuid4())
        message = self.app.amqp.as_task_v2(
            task_id, task_name, args, {}, reply_to=self.app.thread_oid, **headers
        )
        body = json.dumps(message.body).encode()
        properties = {
            **message.properties,
            "delivery_mode": 2,  # persistent, kombu's default
            "delivery_info": {"exchange": "", "routing_key": self.queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        }
        envelope = {
            "body": base64.b64encode(body).decode("ascii"),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": message.headers,
            "properties": properties,
        }
        self.client.lpush(self.queue, json.dumps(envelope))
        return task_id


@cache  # settings do not change while a process runs: decided once per broker URL
def _redis_queue(app: Celery, url: str) -> _RedisQueue | None:
    conf = app.conf
    options = conf.broker_transport_options or {}
    plain = (
        url.startswith(_REDIS_SCHEMES)
        and not conf.task_routes
        and conf.task_default_priority is None
        and not options.get("global_keyprefix")
    )
    return _RedisQueue(app, url) if plain else None


def forget_brokers() -> None:
    """Decide again for each broker URL (after changing the Celery configuration at runtime)."""
    _redis_queue.cache_clear()


def redis_queue(app: Celery) -> _RedisQueue | None:
    """The shortcut for this app, or None when Celery's own publish must be used."""
    if app.conf.task_always_eager or app.current_worker_task is not None:
        # Eager tasks run inline; inside a task, Celery records it as the new one's parent.
        return None
    return _redis_queue(app, str(app.conf.broker_url or ""))


def task_publish(task: Any, *args: Any) -> None:
    """task.delay(*args), through the Redis shortcut when it applies."""
    queue = redis_queue(task.app)
    if queue is None:
        task.delay(*args)
        return
    queue.publish(
        task.name,
        args,
        time_limit=task.time_limit,
        soft_time_limit=task.soft_time_limit,
        ignore_result=task.ignore_result,
        # What Celery's saferepr writes for short arguments, without its cost.
        argsrepr=repr(args),
        kwargsrepr="{}",
    )
