"""Celery tasks of the test gate: thin adapters that load by id and call the gate service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="patches.run_test_gate", ignore_result=True)
def run_test_gate(proposal_id: int) -> None:
    from patches.testgate.runner import gate_run

    gate_run(proposal_id=proposal_id)


@shared_task(name="patches.sweep_stuck_gates", ignore_result=True)
def sweep_stuck_gates() -> None:
    from patches.testgate.runner import gate_sweep

    gate_sweep()
