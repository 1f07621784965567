"""`make run`'s server: web and worker come up healthy and stop together on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(port: int) -> dict[str, dict[str, str]] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return None


@pytest.mark.worker
def test_the_console_comes_up_healthy_and_ctrl_c_leaves_no_process_behind(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_"))}
    env.update({"VAR_DIR": str(tmp_path / "var"), "WORKER_HEARTBEAT_S": "2"})
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runconsole", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        started = time.monotonic()
        report = None
        while time.monotonic() - started < 30:
            report = _health(port)
            if report and all(
                report[part]["status"] == "up" for part in ("database", "broker", "workers")
            ):
                break
            time.sleep(0.5)
        assert report is not None, "the web server never answered"
        assert {part: report[part]["status"] for part in ("database", "broker", "workers")} == {
            "database": "up",
            "broker": "up",
            "workers": "up",
        }
        descendants = psutil.Process(server.pid).children(recursive=True)
        assert len(descendants) >= 3  # runserver, the worker and its pool

        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
        _, alive = psutil.wait_procs(descendants, timeout=5)
        assert alive == []
        assert server.stdout is not None
        output = server.stdout.read().decode()
        # The sign-in URL beside the credentials, once (after the server answered).
        ready = f"Console ready: sign in at http://127.0.0.1:{port}/accounts/login/"
        assert output.count(ready) == 1, output
        after = output[output.index(ready) :]
        assert "reviewer   password " in after and "demo-agent token pat_" in after
        assert " succeeded in " not in output  # the periodic tasks do not flood the terminal
    finally:
        if server.poll() is None:
            server.kill()
