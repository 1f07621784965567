"""Agent API throughput: accepted signed submissions/s against a no-op view on the same server.

`python -m bench.api_bench` starts gunicorn on 127.0.0.1 (an ephemeral port) against a throwaway
PostgreSQL database (on the server DATABASE_URL names, else 127.0.0.1:5432; dropped at the end)
with a Redis broker, registers
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
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import is_postgres, manage, percentile, start_gunicorn, throwaway_database
from patches.client import make_proposal, sign_proposal

# Where the throwaway database goes when DATABASE_URL does not name a PostgreSQL server.
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
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


Request = tuple[str, str, bytes | None, dict[str, str]]


def _send(conn: http.client.HTTPConnection, request: Request) -> int:
    method, path, body, headers = request
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def _drive(
    port: int, requests: list[Request], concurrency: int, expect: int, rate: float | None = None
) -> tuple[float, list[float]]:
    """Send all requests over `concurrency` keep-alive connections: (seconds, sorted latencies).

    Closed loop when rate is None (each connection sends as soon as its last answer came);
    otherwise open loop at `rate` requests/s with latency counted from each request's
    scheduled start, so queueing counts.
    """
    index = iter(range(len(requests)))
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[int] = []
    started = time.perf_counter()
    first = started + 0.05

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            scheduled = time.perf_counter() if rate is None else first + i / rate
            pause = scheduled - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            status = _send(conn, requests[i])
            latencies.append(time.perf_counter() - scheduled)
            if status != expect:
                failures.append(status)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} unexpected answers, e.g. {failures[:5]}")
    return elapsed, sorted(latencies)


def _saturate(port: int, requests: list[Request], concurrency: int, expect: int) -> float:
    """Closed-loop throughput in requests/s."""
    return len(requests) / _drive(port, requests, concurrency, expect)[0]


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
    pairs = [[f"bench-{i}", raw_public_key(k.public_key()).hex()] for i, k in enumerate(keys)]
    result = manage("shell", "-c", _REGISTER_AGENTS, env=env, input=json.dumps(pairs))
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
    server = os.environ.get("DATABASE_URL", "")
    with (
        throwaway_database(
            "console_api_bench", server=server if is_postgres(server) else DEFAULT_POSTGRES
        ) as database_url,
        tempfile.TemporaryDirectory(prefix="api-bench-") as workdir,
    ):
        try:
            return _measure(settings, database_url, Path(workdir))
        finally:
            _clear_broker_queue()


def _measure(settings: Settings, database_url: str, workdir: Path) -> dict[str, float]:
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
    manage("migrate", "--noinput", env=env)
    agents = _register_agents(env, agent_count)
    target = "bench-config"
    content = workdir / "config.json"
    content.write_text(json.dumps({"n": -1}))
    manage("target_create", target, "--type", "Config", "--content-file", str(content), env=env)
    server = start_gunicorn(env=env, log_dir=workdir, workers=settings.workers, threads=1)
    port = int(urlsplit(server.extra["url"]).port or 0)
    try:
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
        ping_rps, submit_rps = statistics.median(ping_rates), statistics.median(submit_rates)
        _, ping_lat = _drive(
            port, ping * settings.latency_requests, settings.concurrency, 200, ping_rps / 2
        )
        later = _signed_submissions(agents, target, settings.latency_requests, 10_000_000)
        _, submit_lat = _drive(port, later, settings.concurrency, 201, submit_rps / 2)
    finally:
        server.stop()
    ratios = [s / p for s, p in zip(submit_rates, ping_rates, strict=True)]
    return {
        "ping_rps": ping_rps,
        "submit_rps": submit_rps,
        "ping_request_s": 1 / ping_rps,
        "submit_request_s": 1 / submit_rps,
        "submit_cost_in_pings": ping_rps / submit_rps,
        "submit_to_ping_ratio": submit_rps / ping_rps,
        "ping_p50_ms": percentile(ping_lat, 50) * 1000,
        "ping_p99_ms": percentile(ping_lat, 99) * 1000,
        "submit_p50_ms": percentile(submit_lat, 50) * 1000,
        "submit_p99_ms": percentile(submit_lat, 99) * 1000,
        "workers": settings.workers,
        "rounds": settings.rounds,
        "agents": agent_count,
        "submit_to_ping_ratio_min": min(ratios),
        "submit_to_ping_ratio_max": max(ratios),
        **{
            f"{label}_cpu_{group}_ms": statistics.median(values)
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
