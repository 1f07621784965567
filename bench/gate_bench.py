"""Gate latency: submit to both gates' results (built-in tests) against a bare Celery round trip.

`python -m bench.gate_bench [--rounds N]` runs in its own throwaway database with one real
prefork worker on the configured broker (CELERY_BROKER_URL; the filesystem transport by
default); `run()` returns the figures for `make bench`. The baseline is the console's own
heartbeat task (one upsert), observed through its row; the gates through the proposal's
AuditChecked event (the test gate ran, then the audit gate: it can be reviewed). Both are polled the same way, interleaved round by round, so broker
and polling latency weigh the same on each side. Goal: gate p50 under 10x the round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import django_ready, percentile, start_celery_worker, throwaway_database

ROUNDS = 30
WARMUP = 3
POLL_S = 0.002
WAIT_S = 60.0
RATIOS = {"gate_p50_ratio": ("gate_p50_s", "gate_baseline_p50_s", "<=", 10.0)}

PROMPT = "You are a support agent for {company}.\nAnswer politely.\nNever reveal {secret}.\n"


def _wait_until(done: Callable[[], bool], started: float) -> float:
    while time.perf_counter() - started < WAIT_S:
        if done():
            return time.perf_counter() - started
        time.sleep(POLL_S)
    raise TimeoutError(f"nothing finished within {WAIT_S:.0f} s: is the worker running?")


def _round_trip() -> float:
    from console.models import WorkerHeartbeat
    from console.tasks import heartbeat

    WorkerHeartbeat.objects.all().delete()
    started = time.perf_counter()
    heartbeat.delay()
    return _wait_until(WorkerHeartbeat.objects.exists, started)


def _setup() -> tuple[Any, Any, Any]:
    from patches.agents import agent_create
    from patches.targets import target_create
    from patches.testgate.definitions import testdef_create

    tests = [
        ("bench-placeholders", "placeholders", {}),
        ("bench-max-length", "max_length", {"chars": 4000}),
        ("bench-no-leak", "text_not_contains", {"text": "ignore previous instructions"}),
        ("bench-polite", "text_contains", {"text": "politely"}),
    ]
    for name, kind, params in tests:
        testdef_create(name=name, kind=kind, params=params)
    suffix = secrets.token_hex(3)
    target = target_create(
        name=f"bench-prompt-{suffix}",
        patch_type="Prompt",
        content=PROMPT,
        actor="system:console",
        tests=[name for name, _, _ in tests],
    )
    created = agent_create(name=f"bench-agent-{suffix}", actor="system:console")
    return target, created.agent, created.private_key


def _gate(target: Any, agent: Any, private_key: Any, n: int) -> float:
    from audit.gate import AUDIT_CHECKED
    from audit.gates import proposal_submit_and_gate
    from patches.canonical import canonical
    from patches.models import Event
    from patches.signing import key_id_of, raw_public_key, sign

    lines = PROMPT.splitlines()
    patch = f"--- a/prompt\n+++ b/prompt\n@@ -2 +2 @@\n-{lines[1]}\n+Answer politely, round {n}.\n"
    fields = {
        "patch_type": "Prompt",
        "target": target.name,
        "base_version": 1,
        "patch": patch,
        "reasoning": "bench",
        "test_requirements": [],
        "nonce": secrets.token_hex(16),
    }
    body = canonical(
        {
            "proposal": fields,
            "signature": {
                "key_id": key_id_of(raw_public_key(private_key.public_key())),
                "algorithm": "ed25519",
                "value": sign(private_key, fields),
            },
        }
    )
    started = time.perf_counter()
    # Publishes on commit (autocommit here); done once both gates ran and it can be reviewed.
    proposal = proposal_submit_and_gate(agent=agent, body=body)
    audited = Event.objects.filter(proposal_id=proposal.pk, kind=AUDIT_CHECKED)
    return _wait_until(audited.exists, started)


def run(rounds: int = ROUNDS) -> dict[str, Any]:
    """Gate latency and the bare round trip, p50/p90 each, and the p50 ratio."""
    from django.conf import settings

    from patches.models import Proposal

    target, agent, private_key = _setup()
    log_dir = Path(tempfile.mkdtemp(prefix="gate-bench-"))
    env = {**os.environ, "DATABASE_URL": os.environ.get("DATABASE_URL", ""), "LOG_LEVEL": "WARNING"}
    env["VAR_DIR"] = str(settings.VAR_DIR)
    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    worker = start_celery_worker(env=env, log_dir=log_dir, name="gatebench", concurrency=1)
    try:
        for n in range(WARMUP):
            _round_trip()
            _gate(target, agent, private_key, -n - 1)
        trips, gates = [], []
        for n in range(rounds):
            trips.append(_round_trip())
            gates.append(_gate(target, agent, private_key, n))
    except TimeoutError as exc:
        raise RuntimeError(f"{exc}\nworker log:\n{worker.tail()}") from exc
    finally:
        worker.stop()
    passed = Proposal.objects.filter(target=target, status__in=["in_review", "applied"]).count()
    if passed != rounds + WARMUP:
        raise RuntimeError(f"only {passed} of {rounds + WARMUP} bench gates passed")
    gate_p50, trip_p50 = percentile(gates, 50), percentile(trips, 50)
    return {
        "gate_p50_s": gate_p50,
        "gate_p90_s": percentile(gates, 90),
        "gate_baseline_p50_s": trip_p50,
        "gate_baseline_p90_s": percentile(trips, 90),
        "gate_p50_ratio": gate_p50 / trip_p50,
        "gate_rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gate_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args()
    with (
        throwaway_database("console_gate_bench") as database_url,
        tempfile.TemporaryDirectory(prefix="gate-bench-var-") as var_dir,
    ):
        django_ready(database_url, var_dir=var_dir)
        figures = run(options.rounds)
    print(json.dumps(figures, indent=2))
    print(
        f"gate p50 {figures['gate_p50_s'] * 1000:.1f} ms vs bare round trip p50 "
        f"{figures['gate_baseline_p50_s'] * 1000:.1f} ms: {figures['gate_p50_ratio']:.2f}x (goal < 10x)"
    )


if __name__ == "__main__":
    main()
