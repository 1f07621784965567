"""Start the web server and one Celery worker (with beat) together; Ctrl-C stops both."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from console.demo import demo_credentials

STOP_GRACE_S = 15


def _answers(url: str) -> bool:
    """The server sent any HTTP answer (a 503 from /healthz while the worker starts counts)."""
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310  (our own http:// URL)
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run the console: web server and a Celery worker with the beat scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--concurrency", type=int, default=2)
        # Periodic tasks (heartbeat, checkpoints, webhook rounds) run every few seconds; at INFO
        # their "received/succeeded" lines would bury the console's own output.
        parser.add_argument(
            "--worker-log-level",
            default="WARNING",
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="the Celery worker's log level (default WARNING: failures only)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        address = f"{options['host']}:{options['port']}"
        commands = {
            "web": [python, "manage.py", "runserver", address, "--noreload"],
            "worker": [
                python, "-m", "celery", "-A", "console", "worker", "--beat",
                "--concurrency", str(options["concurrency"]), "--loglevel", options["worker_log_level"],
                "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        }  # fmt: skip
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        # Each child leads its own process group, so the worker's pool children are stopped
        # with it and a second Ctrl-C cannot kill a child half-way through our shutdown.
        for name, argv in commands.items():
            children[name] = subprocess.Popen(argv, cwd=settings.BASE_DIR, start_new_session=True)
        self.stdout.write("Starting the web server and the worker…")
        url = f"http://{address}/"
        announced = False
        exit_code = 0
        while not stopping:
            # The sign-in URL and the credentials only once the server answers, so the link
            # printed is one that works.
            if not announced and _answers(url + "healthz"):
                self._announce(url)
                announced = True
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with code {child.returncode}; stopping")
                    stopping, exit_code = True, 1
            time.sleep(0.5)
        self._stop_all(children)
        sys.exit(exit_code)

    def _announce(self, url: str) -> None:
        lines = [f"Console ready: sign in at {url}accounts/login/  (Ctrl-C stops web and worker)"]
        credentials = demo_credentials()
        for name in ("reviewer", "reviewer2", "admin"):
            if name in credentials:
                lines.append(f"  {name:<10} password {credentials[name]['password']}")
        agent = credentials.get("demo-agent")
        if agent:
            lines.append(f"  demo-agent token {agent['token']}  key {agent['private_key_file']}")
        self.stdout.write("\n".join(lines))

    def _stop_all(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        # SIGTERM to each leader only: the Celery worker then does a warm shutdown of its own
        # pool, finishing the task at hand (a gate) instead of abandoning it.
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_GRACE_S}s; killing it")
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            # Whatever the leader left behind in its group (pool children) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        self.stdout.write("Stopped web and worker.")
