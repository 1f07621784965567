"""Celery tasks of the test gate: thin adapters that load by id and call the gate service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

# A gate held by a live worker is retried when its lease ends; bounded so a wedged gate cannot
# loop forever (the sweep still finds it).
BUSY_RETRIES = 20


@shared_task(name="patches.run_test_gate", bind=True, ignore_result=True, max_retries=BUSY_RETRIES)
def run_test_gate(self: Any, proposal_id: int) -> None:
    from patches.testgate.runner import gate_run

    retry_after = gate_run(proposal_id=proposal_id)
    if retry_after is not None:
        raise self.retry(countdown=max(1.0, retry_after))


@shared_task(name="patches.sweep_stuck_gates", ignore_result=True)
def sweep_stuck_gates() -> None:
    from patches.testgate.runner import gate_sweep

    gate_sweep()
