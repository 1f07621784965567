"""Real workers killed mid-gate (main process, then pool child) lose no gate and record none twice."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter

import pytest
from django.db import close_old_connections

from audit.gates import gates_sweep, run_gates
from console.celery import app as celery_app
from patches.models import Event, Proposal, TestResult, TestRun
from patches.models import TestOutcome as Outcome
from tests.factories import make_agent, make_test
from tests.testgate.conftest import prompt_diff, submit, target_of
from tests.testgate.worker import (
    REDIS_URL,
    pool_children,
    redis_flush,
    wait_for_pool,
    worker_env,
    worker_start,
    worker_stop,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

KILLS_PER_MODE = 10
GATES_PER_BATCH = 6
DEADLINE_S = 80  # per mode; the whole test stays well under 3 minutes


@pytest.fixture
def broker(monkeypatch, settings):
    """Gates go to Redis db 5 for real workers; the sweep re-enqueues after 1 s."""
    celery_app.conf.task_always_eager = False
    settings.GATE_REQUEUE_AFTER_S = 1
    redis_flush()
    connection = celery_app.connection_for_write(REDIS_URL)

    def send(proposal_id: int) -> None:
        run_gates.apply_async(args=[proposal_id], connection=connection)

    monkeypatch.setattr(run_gates, "delay", send)
    monkeypatch.setenv("CELERY_BROKER_URL", REDIS_URL)  # what conf.broker_url reads first
    yield
    connection.release()
    redis_flush()


def _batch(persona, target, count: int, start: int) -> list[int]:
    ids = []
    for n in range(start, start + count):
        patch = prompt_diff("Answer politely.", f"Answer politely, variant {n}.")
        ids.append(submit(persona, target, patch).pk)
    return ids


def _inside_slow_test(worker) -> bool:
    # The pool child has a child of its own only while the slow command test runs.
    return any(pool_children(child) for child in pool_children(worker.pid))


def _wait(predicate, timeout_s: float, sweep: bool = False) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        close_old_connections()
        if predicate():
            return True
        if sweep:
            gates_sweep()
        time.sleep(0.2)
    return False


def test_a_real_worker_runs_each_gate_once_on_either_database(broker, tmp_path):
    slow = make_test(
        "slow", "command", {"argv": ["sh", "-c", "sleep 0.3", "sh"], "timeout_s": 2}, timeout_s=2
    )
    target = target_of("Prompt", [slow, make_test("fails", "max_length", {"chars": 10})])
    persona = make_agent()
    worker = worker_start(worker_env(), tmp_path / "worker.log", "wdb")
    try:
        ids = _batch(persona, target, 3, 0)
        assert _wait(lambda: _inside_slow_test(worker), 20), (tmp_path / "worker.log").read_text()
        # Progress is visible while the gate runs: the first test committed on its own.
        close_old_connections()
        live = dict(
            TestResult.objects.filter(status__in=["failed", "running"]).values_list(
                "name", "status"
            )
        )
        assert live == {"fails": "failed", "slow": "running"}
        os.kill(wait_for_pool(worker), signal.SIGKILL)  # a gate is taken over after this
        done = _wait(
            lambda: not Proposal.objects.filter(pk__in=ids, status="testing").exists(),
            30,
            sweep=True,
        )
        assert done, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        worker_stop(worker)
    close_old_connections()
    reasons = set(Proposal.objects.filter(pk__in=ids).values_list("reason", flat=True))
    assert reasons == {"Test failed: fails"}
    rejected = Event.objects.filter(proposal_id__in=ids, kind="PatchRejected")
    assert sorted(rejected.values_list("proposal_id", flat=True)) == ids


@pytest.mark.postgres
@pytest.mark.parametrize("victim", ["main", "pool-child"])
def test_killed_workers_finish_every_gate_exactly_once(broker, tmp_path, victim):
    slow = make_test(
        "slow", "command", {"argv": ["sh", "-c", "sleep 0.8", "sh"], "timeout_s": 2}, timeout_s=2
    )
    keeps = make_test("keeps-placeholders", "placeholders", {})
    target = target_of("Prompt", [keeps, slow])
    persona = make_agent()
    env = worker_env()
    log = tmp_path / "worker.log"
    workers = [worker_start(env, log, f"w{victim}0")]
    ids: list[int] = []
    started = time.monotonic()
    kills = 0
    try:
        for _ in range(KILLS_PER_MODE * 3):
            if kills == KILLS_PER_MODE or time.monotonic() - started > DEADLINE_S:
                break
            if not Proposal.objects.filter(pk__in=ids, status="testing").exists():
                ids += _batch(persona, target, GATES_PER_BATCH, len(ids))
            worker = workers[-1]
            wait_for_pool(worker)
            if not _wait(lambda w=worker: _inside_slow_test(w), 15, sweep=True):
                continue
            time.sleep(random.uniform(0.05, 0.5))  # somewhere inside the slow test
            try:
                os.kill(worker.pid if victim == "main" else wait_for_pool(worker), signal.SIGKILL)
            except ProcessLookupError:
                continue  # the pool child was being replaced; try again
            kills += 1
            if victim == "main":
                worker.wait(timeout=10)
                workers.append(worker_start(env, log, f"w{victim}{kills}"))
        assert kills == KILLS_PER_MODE, log.read_text()[-3000:]
        done = _wait(
            lambda: not Proposal.objects.filter(pk__in=ids, status="testing").exists(),
            45,
            sweep=True,
        )
        assert done, (
            f"gates still testing: {list(TestRun.objects.filter(proposal_id__in=ids, proposal__status='testing').values())}"
        )
        time.sleep(1.5)  # let any orphaned pool child or redelivered message have its go
    finally:
        for worker in workers:
            worker_stop(worker)
    close_old_connections()
    decisions = Counter(
        Event.objects.filter(
            proposal_id__in=ids, kind__in=["TestGatePassed", "PatchRejected"]
        ).values_list("proposal_id", flat=True)
    )
    assert decisions == Counter(dict.fromkeys(ids, 1))
    assert set(Proposal.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "in_review"
    }
    results = TestResult.objects.filter(run__proposal_id__in=ids)
    assert results.count() == 2 * len(ids)
    assert set(results.values_list("status", flat=True)) == {Outcome.PASSED}
    attempts = list(TestRun.objects.filter(proposal_id__in=ids).values_list("attempts", flat=True))
    assert sum(attempts) > len(ids)  # some gates really were interrupted and resumed
    print(
        f"{victim}: {kills} kills, {len(ids)} gates, {sum(attempts)} attempts, {time.monotonic() - started:.1f} s"
    )
