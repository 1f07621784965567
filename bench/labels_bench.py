"""Label reads: GET /api/v1/targets/{name}?label=…&instance=… against the unlabelled read.

`python -m bench.labels_bench [--rounds N] [--requests N]` runs in its own throwaway database
(PostgreSQL when DATABASE_URL names a server, else SQLite); `run()` returns the figures for
`make bench`. Every request goes through Django's test client in this process, so its time is
the server's (no network). A Config target at version 2 has a `canary` label in a 10 % rollout
from v1; in interleaved rounds the bench times, per request:

- the unlabelled read `GET /targets/bench-config` (production, the agent's name as instance);
- the labelled read `GET /targets/bench-config?label=canary&instance=i-N`, a new instance each
  request (bucket computed, either version served);
- for reference, `GET /targets/bench-config/versions/2`, a read that touches no label.

The three are interleaved request by request and the median of each is reported. Goal:
labelled / unlabelled <= 1.2.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.common import django_ready, throwaway_database

ROUNDS = 7
REQUESTS = 300
GOAL_RATIO = 1.2

RATIOS: dict[str, tuple[str, str, str, float | None]] = {
    "labelled_read_ratio": ("labelled_read_s", "unlabelled_read_baseline_s", "<=", GOAL_RATIO),
    "labelled_vs_version_read_ratio": ("labelled_read_s", "version_read_s", "<=", None),
}


def _world() -> tuple[Any, dict[str, str]]:
    from django.test import Client

    from patches.agents import agent_create
    from patches.formats import content_hash
    from patches.label_models import Label
    from patches.labels import label_create
    from patches.models import TargetVersion
    from patches.targets import target_create

    agent = agent_create(name="bench-reader", actor="system:console")
    target = target_create(
        name="bench-config",
        patch_type="Config",
        content=json.dumps({"name": "config", "limits": list(range(50))}),
        actor="system:console",
    )
    # A second version without the gates (the bench measures reads, not applies), then a
    # canary label in a 10 % rollout to it, as a reviewed move would leave it.
    content = json.dumps({"name": "config v2", "limits": list(range(50))}, separators=(",", ":"))
    TargetVersion.objects.create(
        target=target, version=2, content=content, content_hash=content_hash(content)
    )
    target.version = 2
    target.save(update_fields=["version"])
    canary = label_create(target=target, name="canary", approvals=0, actor="system:console")
    Label.objects.filter(pk=canary.pk).update(version=2, from_version=1, percent=10)
    Label.objects.filter(target=target, name="production").update(version=2)
    return Client(HTTP_HOST="localhost"), {"HTTP_AUTHORIZATION": f"Bearer {agent.token}"}


def run(rounds: int = ROUNDS, requests: int = REQUESTS) -> dict[str, float]:
    logging.getLogger("django.request").setLevel(logging.ERROR)
    client, auth = _world()

    def get(path: str) -> None:
        response = client.get(path, **auth)
        assert response.status_code == 200, response.content

    reads: dict[str, Callable[[int], Any]] = {
        "unlabelled": lambda i: get("/api/v1/targets/bench-config"),
        "labelled": lambda i: get(f"/api/v1/targets/bench-config?label=canary&instance=i-{i}"),
        "version": lambda i: get("/api/v1/targets/bench-config/versions/2"),
    }
    samples: dict[str, list[float]] = {name: [] for name in reads}
    for i in range(-20, rounds * requests):  # the first 20 warm up and are not counted
        # Interleaved request by request, so a busy moment on a shared machine slows all
        # three alike; the median of each then drops the outliers.
        for name, read in reads.items():
            started = time.perf_counter()
            read(i)
            if i >= 0:
                samples[name].append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "unlabelled_read_baseline_s": median["unlabelled"],
        "labelled_read_s": median["labelled"],
        "version_read_s": median["version"],
        "labelled_read_ratio": median["labelled"] / median["unlabelled"],
        "labelled_vs_version_read_ratio": median["labelled"] / median["version"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.labels_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    options = parser.parse_args()
    with (
        throwaway_database("console_labels_bench") as database_url,
        tempfile.TemporaryDirectory(prefix="labels-bench-var-") as var_dir,
    ):
        django_ready(database_url, var_dir=var_dir)
        from django.db import connection

        vendor = connection.vendor
        figures = run(options.rounds, options.requests)
        connection.close()
    print(f"database {vendor}, medians of {options.rounds * options.requests} requests each")
    for name, value in figures.items():
        shown = f"{value * 1000:.3f} ms" if name.endswith("_s") else f"{value:.3f}x"
        print(f"{name:34} {shown}")
    ratio = figures["labelled_read_ratio"]
    verdict = "pass" if ratio <= GOAL_RATIO else "FAIL"
    print(f"labelled read / unlabelled read: {ratio:.2f}x: {verdict} (goal <= {GOAL_RATIO}x)")


if __name__ == "__main__":
    main()
