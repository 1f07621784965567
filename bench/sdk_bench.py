"""SDK read cost: a read served from the TTL cache against a network read, in the same run.

`python -m bench.sdk_bench` starts gunicorn on 127.0.0.1 (an ephemeral port) against a throwaway
database (PostgreSQL when DATABASE_URL names a server, else SQLite), registers an agent and a
Prompt target with the console's own commands, then times, in interleaved rounds:

- a network read: GET /api/v1/targets/{name} answered 200 with the content (what an agent
  without the SDK pays on every read), over a fresh connection as urllib makes it;
- a revalidation: the SDK past its TTL, `If-None-Match` answered 304;
- a cached read: `TargetReader.get_target` within its TTL (no request).

Goal: a cached read costs at most 1 % of a network read (`cached_to_network_ratio` <= 0.01).
Medians of the rounds are reported. Loopback only; every loop is bounded by a count.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import manage, start_gunicorn, throwaway_database
from patches.client import AgentClient
from patches.client.sdk import TargetReader

RATIOS = {
    "cached_to_network_ratio": ("cached_read_s", "network_read_s", "<=", 0.01),
    "revalidate_to_network_ratio": ("revalidate_read_s", "network_read_s", "<=", None),
}
PROMPT = "You are a helpful support agent for {company}.\n" + "Answer politely.\n" * 200


def _per_call(calls: int, timed: Any) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        timed()
    return (time.perf_counter() - started) / calls


def run(rounds: int = 5, network_reads: int = 100, cached_reads: int = 20_000) -> dict[str, Any]:
    with (
        throwaway_database("console_sdk_bench") as database_url,
        tempfile.TemporaryDirectory(prefix="sdk-bench-") as folder,
    ):
        return _measure(Path(folder), database_url, rounds, network_reads, cached_reads)


def _measure(
    workdir: Path, database_url: str, rounds: int, network_reads: int, cached_reads: int
) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "VAR_DIR": str(workdir / "var"),
        "LOG_HEAD_PATH": str(workdir / "log_head.json"),
        "LOG_ALARM_PATH": str(workdir / "log_alarm.json"),
    }
    manage("migrate", "--noinput", env=env)
    token = json.loads(manage("agent_create", "sdk-bench", env=env).stdout)["token"]
    content = workdir / "prompt.md"
    content.write_text(PROMPT)
    manage(
        "target_create", "bench_prompt", "--type", "Prompt", "--content-file", str(content), env=env
    )
    server = start_gunicorn(env=env, log_dir=workdir, workers=2, threads=2)
    url = server.extra["url"]
    try:
        plain = AgentClient(url=url, token=token)
        cached = TargetReader(url=url, token=token, ttl=3600, cache_dir=workdir / "copies")
        revalidating = TargetReader(url=url, token=token, ttl=0, cache_dir=workdir / "copies-2")
        for reader in (cached, revalidating):  # warm: the first read fills memory and disk
            assert reader.get_target("bench_prompt").source == "console"
        assert revalidating.get_target("bench_prompt").source == "revalidated"
        network, revalidate, memory = [], [], []
        for _ in range(rounds):
            network.append(_per_call(network_reads, lambda: plain.target("bench_prompt")))
            revalidate.append(
                _per_call(network_reads, lambda: revalidating.get_target("bench_prompt"))
            )
            memory.append(_per_call(cached_reads, lambda: cached.get_target("bench_prompt")))
        assert cached.get_target("bench_prompt").source == "memory"
    finally:
        server.stop()
    network_s, revalidate_s, cached_s = (
        statistics.median(x) for x in (network, revalidate, memory)
    )
    return {
        "network_read_s": network_s,
        "revalidate_read_s": revalidate_s,
        "cached_read_s": cached_s,
        "cached_to_network_ratio": cached_s / network_s,
        "revalidate_to_network_ratio": revalidate_s / network_s,
        "prompt_bytes": len(PROMPT.encode()),
        "rounds": rounds,
    }


def main() -> None:
    figures = run()
    for name, value in figures.items():
        print(f"{name:32} {value:.6g}")
    ratio = figures["cached_to_network_ratio"]
    print(f"cached read / network read = {ratio:.5f} (goal <= 0.01)")
    sys.exit(0 if ratio <= 0.01 else 1)


if __name__ == "__main__":
    main()
