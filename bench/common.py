"""Shared bench plumbing: throwaway databases, Django setup, server/worker processes, percentiles."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by the nearest-rank method; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def best_of(runs: int, timed: object) -> float:
    """The fastest of `runs` calls of a no-argument callable, in seconds (noise only adds time)."""
    assert callable(timed)
    best = math.inf
    for _ in range(runs):
        started = time.perf_counter()
        timed()
        best = min(best, time.perf_counter() - started)
    return best


def free_port() -> int:
    """An ephemeral loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_postgres(url: str) -> bool:
    return url.split(":", 1)[0] in POSTGRES_SCHEMES


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _postgres_admin(url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(_with_database(url, "postgres"))
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


@contextlib.contextmanager
def throwaway_database(prefix: str, *, server: str | None = None) -> Iterator[str]:
    """A fresh database named <prefix>_<pid>, dropped on exit; yields its DATABASE_URL.

    PostgreSQL when `server` (default: DATABASE_URL) names a PostgreSQL server (the database
    in that URL is only used to find the server), else a SQLite file in a temporary directory.
    """
    server = os.environ.get("DATABASE_URL", "") if server is None else server
    name = f"{prefix}_{os.getpid()}"
    if is_postgres(server):
        _postgres_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _postgres_admin(server, f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(server, name)
        finally:
            _postgres_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as folder:
        yield f"sqlite:///{Path(folder) / (name + '.sqlite3')}"


def django_ready(database_url: str | None = None, *, var_dir: str | None = None) -> None:
    """Point this process at database_url (when given), set Django up and migrate. Idempotent:
    after the first call Django is configured and later calls only make sure it is set up."""
    import django
    from django.conf import settings

    if not settings.configured and database_url is not None:
        os.environ["DATABASE_URL"] = database_url
        if var_dir is not None:
            os.environ["VAR_DIR"] = var_dir
        # The throwaway database's signed head and alarm stay with it, never in the real var/.
        log_dir = Path(tempfile.mkdtemp(prefix="bench-log-"))
        os.environ["LOG_HEAD_PATH"] = str(log_dir / "log_head.json")
        os.environ["LOG_ALARM_PATH"] = str(log_dir / "log_alarm.json")
    # Measure as deployed: with DEBUG on, Django renders and keeps every query it runs.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def manage(
    *args: str, env: dict[str, str], timeout: float = 300, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a child process with env; raises on a non-zero exit, showing its output."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@dataclass
class Child:
    """A started server or worker process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (warm shutdown), then SIGKILL if it is still there after timeout."""
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _spawn(name: str, argv: list[str], *, env: dict[str, str], log_dir: Path) -> Child:
    log = log_dir / f"{name}.log"
    handle = log.open("wb")
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return Child(name=name, process=process, log=log)


def start_gunicorn(
    *,
    env: dict[str, str],
    log_dir: Path,
    workers: int = 2,
    threads: int = 4,
    port: int | None = None,
) -> Child:
    """gunicorn serving console.wsgi on a loopback port; waits until /healthz answers."""
    port = port or free_port()
    argv = [
        str(VENV_BIN / "gunicorn"),
        "console.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
    ]
    child = _spawn("gunicorn", argv, env=env, log_dir=log_dir)
    child.extra["url"] = f"http://127.0.0.1:{port}"
    wait_http(child, child.extra["url"] + "/api/v1/ping")
    return child


def start_celery_worker(
    *, env: dict[str, str], log_dir: Path, name: str, concurrency: int = 2, beat: bool = False
) -> Child:
    """A prefork Celery worker of the console app (optionally with the embedded beat)."""
    argv = [
        str(VENV_BIN / "celery"),
        "-A",
        "console",
        "worker",
        "-n",
        f"{name}@%h",
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        argv += ["--beat", "--schedule", str(log_dir / f"{name}-beat-schedule")]
    return _spawn(name, argv, env=env, log_dir=log_dir)


def wait_http(child: Child, url: str, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited during startup:\n{child.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  (loopback)
                if response.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{child.name} did not answer {url} within {timeout:.0f} s:\n{child.tail()}")


def process_tree_rss(pid: int) -> int:
    """Resident memory in bytes of a process and all its children (0 if it is gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += member.memory_info().rss
    return total
