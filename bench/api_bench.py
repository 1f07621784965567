"""Agent API throughput: accepted signed submissions/s against a no-op view on the same server.

`python -m bench.api_bench` starts gunicorn on 127.0.0.1 (an ephemeral port) against PostgreSQL
(DATABASE_URL, or a throwaway database it creates and drops) with a Redis broker, registers
agents (enough that each keeps fewer open proposals than the default cap of 50, as no worker
decides them) and a Config target with the project's own services, then measures in one run:

- saturation throughput of GET /api/v1/ping (no auth, no database) and of POST /api/v1/proposals
  (pre-signed, all accepted: 201), both closed-loop with the same concurrency, in `rounds`
  interleaved rounds; the medians are reported, so one noisy round cannot make the ratio;
- the CPU each request costs, split by process (gunicorn workers, PostgreSQL backends, Redis,
  this load generator), read from /proc through psutil around every round;
- p50/p99 latency of each at half its saturation rate (open loop, latency from the scheduled
  start, so queueing counts).

Prints the ratio submit/ping; `run()` returns the figures for `make bench`. Loopback only;
every loop is bounded by a request count.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patches.client import make_proposal, sign_proposal

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/3")


@dataclass
class Settings:
    # One web worker per core: PostgreSQL and the load generator share the same cores, and
    # more workers than cores only adds context switches (3 workers on 2 cores cost each
    # submit 25% more CPU than 2 did).
    workers: int = os.cpu_count() or 2
    concurrency: int = 16
    rounds: int = 5
    ping_requests: int = 3000
    submit_requests: int = 600
    latency_requests: int = 300


PROCESS_GROUPS = ("gunicorn", "postgres", "redis", "client")


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by each process group on this machine (user + system)."""
    import psutil

    totals = dict.fromkeys((*PROCESS_GROUPS, "other"), 0.0)
    me = os.getpid()
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is None:
            continue
        name = process.info["name"] or ""
        command = " ".join(process.info["cmdline"] or ())
        if process.pid == me:
            group = "client"
        elif "gunicorn" in command:
            group = "gunicorn"
        elif name.startswith("postgres") or command.startswith("postgres"):
            group = "postgres"
        elif name.startswith("redis"):
            group = "redis"
        else:
            group = "other"
        totals[group] += times.user + times.system
    return totals


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _throwaway_database() -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"console_api_bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgres://postgres@127.0.0.1:5432/{name}", drop


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def _wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer in time")


Request = tuple[str, str, bytes | None, dict[str, str]]


def _send(conn: http.client.HTTPConnection, request: Request) -> int:
    method, path, body, headers = request
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def _saturate(port: int, requests: list[Request], concurrency: int, expect: int) -> float:
    """Closed loop: `concurrency` keep-alive clients send all requests; returns requests/s."""
    index = iter(range(len(requests)))
    lock = threading.Lock()
    failures: list[int] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            status = _send(conn, requests[i])
            if status != expect:
                failures.append(status)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} unexpected answers, e.g. {failures[:5]}")
    return len(requests) / elapsed


def _latencies(
    port: int, requests: list[Request], rate: float, concurrency: int, expect: int
) -> list[float]:
    """Open loop at `rate` requests/s; latency measured from each request's scheduled start."""
    start = time.perf_counter() + 0.05
    index = iter(range(len(requests)))
    lock = threading.Lock()
    results: list[float] = []
    failures: list[int] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            scheduled = start + i / rate
            pause = scheduled - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            status = _send(conn, requests[i])
            results.append(time.perf_counter() - scheduled)
            if status != expect:
                failures.append(status)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} unexpected answers, e.g. {failures[:5]}")
    return sorted(results)


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


@dataclass(frozen=True)
class BenchAgent:
    key: Any  # Ed25519PrivateKey
    token: str


# Registers the bench's agents in one process (agent_create once per agent would take a second
# each): reads [name, public key hex] pairs on stdin, prints their tokens as a JSON list.
_REGISTER_AGENTS = """
import json, sys
from patches.agents import agent_create
pairs = json.load(sys.stdin)
tokens = [agent_create(name=n, public_key=bytes.fromhex(k), actor="bench").token for n, k in pairs]
print(json.dumps(tokens))
"""


def _register_agents(env: dict[str, str], count: int) -> list[BenchAgent]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from patches.signing import raw_public_key

    keys = [Ed25519PrivateKey.generate() for _ in range(count)]
    prefix = f"bench-{secrets.token_hex(3)}"  # `make bench` may run twice against one database
    pairs = [[f"{prefix}-{i}", raw_public_key(k.public_key()).hex()] for i, k in enumerate(keys)]
    result = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", _REGISTER_AGENTS],
        cwd=ROOT,
        env=env,
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"registering bench agents failed:\n{result.stderr[-2000:]}")
    tokens = json.loads(result.stdout.strip().splitlines()[-1])
    return [BenchAgent(key, token) for key, token in zip(keys, tokens, strict=True)]


def _signed_submissions(
    agents: list[BenchAgent], target: str, count: int, offset: int
) -> list[Request]:
    """`count` accepted submissions, spread round-robin over the agents."""
    requests: list[Request] = []
    for i in range(offset, offset + count):
        agent = agents[i % len(agents)]
        headers = {"Authorization": f"Bearer {agent.token}", "Content-Type": "application/json"}
        proposal = make_proposal(
            target=target,
            patch_type="Config",
            base_version=1,
            patch=json.dumps([{"op": "replace", "path": "/n", "value": i}]),
            reasoning=f"bench submission {i}",
        )
        body = json.dumps(sign_proposal(agent.key, proposal)).encode()
        requests.append(("POST", "/api/v1/proposals", body, headers))
    return requests


def _clear_broker_queue() -> None:
    # The bench runs no worker: drop the gate tasks it queued in its own Redis database.
    try:
        import redis

        redis.Redis.from_url(BROKER_URL).delete("celery")
    except Exception as exc:  # the figures stand even if the broker is gone
        print(f"note: could not clear {BROKER_URL}: {exc}", file=sys.stderr)


def run(settings: Settings | None = None) -> dict[str, float]:
    settings = settings or Settings()
    workdir = Path(tempfile.mkdtemp(prefix="api-bench-"))
    drop_database: Callable[[], None] = lambda: None  # noqa: E731
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres", "pgsql")):
        database_url, drop_database = _throwaway_database()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": BROKER_URL,
        "DEBUG": "false",
        "DB_CONN_MAX_AGE": "60",
        "VAR_DIR": str(workdir / "var"),
    }
    # No worker runs, so every submission stays open. Rather than lift the per-agent cap (the
    # pending count would then scan thousands of rows, which no deployment does), the bench
    # spreads its submissions over enough agents that each stays under the default cap of 50.
    total = 50 + settings.rounds * settings.submit_requests + settings.latency_requests
    agent_count = total // 40 + 1
    port = _free_port()
    server: subprocess.Popen[bytes] | None = None
    try:
        _manage(env, "migrate", "--noinput")
        agents = _register_agents(env, agent_count)
        # Unique names: `make bench` may run this twice against one database.
        target = f"bench-config-{secrets.token_hex(3)}"
        content = workdir / "config.json"
        content.write_text(json.dumps({"n": -1}))
        _manage(env, "target_create", target, "--type", "Config", "--content-file", str(content))
        server = subprocess.Popen(
            [
                str(Path(PYTHON).with_name("gunicorn")),
                "console.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(settings.workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        _wait_until_up(port, server)
        ping: list[Request] = [("GET", "/api/v1/ping", None, {})]
        warm = _signed_submissions(agents, target, 50, 0)
        _saturate(port, ping * 200, settings.concurrency, 200)
        _saturate(port, warm, settings.concurrency, 201)

        ping_rates: list[float] = []
        submit_rates: list[float] = []
        cpu: dict[str, dict[str, list[float]]] = {"ping": {}, "submit": {}}
        for round_no in range(settings.rounds):
            submissions = _signed_submissions(
                agents, target, settings.submit_requests, 1000 + round_no * 100_000
            )
            for label, batch, expect, rates in (
                ("ping", ping * settings.ping_requests, 200, ping_rates),
                ("submit", submissions, 201, submit_rates),
            ):
                before = _cpu_seconds()
                rates.append(_saturate(port, batch, settings.concurrency, expect))
                after = _cpu_seconds()
                for group, seconds in after.items():
                    per_request_ms = (seconds - before[group]) / len(batch) * 1000
                    cpu[label].setdefault(group, []).append(per_request_ms)
        ping_rps, submit_rps = _median(ping_rates), _median(submit_rates)
        ping_lat = _latencies(
            port, ping * settings.latency_requests, ping_rps / 2, settings.concurrency, 200
        )
        later = _signed_submissions(agents, target, settings.latency_requests, 10_000_000)
        submit_lat = _latencies(port, later, submit_rps / 2, settings.concurrency, 201)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        drop_database()
        _clear_broker_queue()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "ping_rps": ping_rps,
        "submit_rps": submit_rps,
        "ping_request_s": 1 / ping_rps,
        "submit_request_s": 1 / submit_rps,
        "submit_cost_in_pings": ping_rps / submit_rps,
        "submit_to_ping_ratio": submit_rps / ping_rps,
        "ping_p50_ms": _percentile(ping_lat, 0.50) * 1000,
        "ping_p99_ms": _percentile(ping_lat, 0.99) * 1000,
        "submit_p50_ms": _percentile(submit_lat, 0.50) * 1000,
        "submit_p99_ms": _percentile(submit_lat, 0.99) * 1000,
        "workers": settings.workers,
        "rounds": settings.rounds,
        "agents": agent_count,
        "submit_to_ping_ratio_min": min(
            s / p for s, p in zip(submit_rates, ping_rates, strict=True)
        ),
        "submit_to_ping_ratio_max": max(
            s / p for s, p in zip(submit_rates, ping_rates, strict=True)
        ),
        **{
            f"{label}_cpu_{group}_ms": _median(values)
            for label, groups in cpu.items()
            for group, values in groups.items()
        },
    }


def main() -> None:
    figures = run()
    print(
        f"agent API on gunicorn ({figures['workers']:.0f} workers, PostgreSQL, Redis broker, "
        f"{figures['agents']:.0f} agents):\n"
        f"  no-op GET /api/v1/ping       {figures['ping_rps']:8.0f} req/s   "
        f"p50 {figures['ping_p50_ms']:6.2f} ms  p99 {figures['ping_p99_ms']:6.2f} ms at half load\n"
        f"  signed POST /api/v1/proposals {figures['submit_rps']:8.0f} req/s   "
        f"p50 {figures['submit_p50_ms']:6.2f} ms  p99 {figures['submit_p99_ms']:6.2f} ms at half load\n"
        f"  ratio submit/ping throughput: {figures['submit_to_ping_ratio']:.3f} "
        f"(a submission costs {figures['submit_cost_in_pings']:.1f} no-op requests; median of "
        f"{figures['rounds']:.0f} rounds, {figures['submit_to_ping_ratio_min']:.3f} to "
        f"{figures['submit_to_ping_ratio_max']:.3f})"
    )
    for label in ("ping", "submit"):
        split = {g: figures[f"{label}_cpu_{g}_ms"] for g in (*PROCESS_GROUPS, "other")}
        print(
            f"  CPU per {label:6} request: "
            + ", ".join(f"{group} {ms:.3f} ms" for group, ms in split.items())
            + f"; total {sum(split.values()):.3f} ms"
        )


if __name__ == "__main__":
    main()
