"""Starting and stopping real Celery worker processes on the test database and Redis db 5."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from django.conf import settings

REDIS_URL = "redis://127.0.0.1:6379/5"
ROOT = Path(__file__).resolve().parents[2]


def redis_flush() -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()


def worker_env(**extra: str) -> dict[str, str]:
    """The worker shares the test database: DATABASE_URL names the test db pytest-django made."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"  # the test db is a file (settings), never :memory:
    else:
        url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "CELERY"))}
    env.update(
        DATABASE_URL=url,
        CELERY_BROKER_URL=REDIS_URL,
        DJANGO_SETTINGS_MODULE="console.settings",
        GATE_TIME_LIMIT_S="30",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)  # callers may override any of the above (another broker, say)
    return env


def worker_start(env: dict[str, str], log: Path, name: str) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "console",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        "--loglevel",
        "WARNING",
        "-n",
        f"{name}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
    ]
    with open(log, "ab") as out:
        # Its own session, so cleanup can kill the worker and any orphaned pool child together.
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def pool_children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def wait_for_pool(worker: subprocess.Popen[bytes], timeout_s: float = 20) -> int:
    """The pid of the worker's (single) pool child once it exists."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        children = pool_children(worker.pid)
        if children:
            return children[0]
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.returncode}")
        time.sleep(0.05)
    raise TimeoutError("the worker started no pool process")


def worker_stop(worker: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
