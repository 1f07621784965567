"""Running a proposal's gates in order: the test gate, then the audit gate, as one Celery task.

A submission commits its queued test run with the proposal (patches.submit): that row is the
outbox. It is published here through Celery's own API once the transaction commits; when the
broker is down the publish fails quietly and the periodic sweep publishes it again, so a broker
outage never fails a submit. Both gates are idempotent, so a task delivered twice, or published
by the sweep and by the submit, records each result once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from audit.gate import AUDIT_CHECKED, audit_gate_run
from patches.models import Agent, Proposal, ProposalStatus
from patches.submit import proposal_submit
from patches.testgate.runner import gate_run, gate_runs_to_resume, requeue_after

logger = logging.getLogger(__name__)

# A gate held by a live worker is retried when its lease ends; bounded so a wedged gate cannot
# loop forever (the sweep still finds it).
BUSY_RETRIES = 20


def proposal_submit_and_gate(*, agent: Agent, body: bytes | str) -> Proposal:
    """Submit a signed envelope (patches.submit) and queue its gates once it commits."""
    proposal = proposal_submit(agent=agent, body=body)
    gates_enqueue_on_commit(proposal.pk)
    return proposal


def gates_enqueue_on_commit(proposal_id: int) -> None:
    """Publish the proposal's gates once the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: _publish(proposal_id))


def _publish(proposal_id: int) -> None:
    try:
        run_gates.delay(proposal_id)
    except Exception:
        # The proposal and its queued run are committed; a broker outage must not turn that
        # into an error for the agent. gates_sweep publishes it again.
        logger.warning(
            "could not enqueue the gates of proposal %s; the sweep will", proposal_id, exc_info=True
        )


def gates_run(*, proposal_id: int) -> float | None:
    """The test gate, then (if it passed) the audit gate. Seconds to wait before retrying when
    another live worker holds the test gate, else None."""
    retry_after = gate_run(proposal_id=proposal_id)
    if retry_after is not None:
        return retry_after
    audit_gate_run(proposal_id=proposal_id)
    return None


def gates_sweep(*, now: datetime | None = None) -> list[int]:
    """Publish again the gates that were lost; returns their proposal ids.

    Two kinds: test runs never started or whose worker died (gate_runs_to_resume), and
    proposals that passed the test gate but whose audit gate never ran (a worker died between
    the two transactions).
    """
    now = now or timezone.now()
    with transaction.atomic():
        proposal_ids = gate_runs_to_resume(now=now)
        unaudited = (
            Proposal.objects.filter(
                status=ProposalStatus.IN_REVIEW,
                test_run__finished_at__lt=now - requeue_after(),
            )
            .exclude(events__kind=AUDIT_CHECKED)
            .order_by("pk")
            .values_list("pk", flat=True)[:1000]
        )
        proposal_ids += list(unaudited)
        for proposal_id in proposal_ids:
            gates_enqueue_on_commit(proposal_id)
            logger.info("re-enqueued the gates of proposal %s", proposal_id)
    return proposal_ids


@shared_task(name="audit.run_gates", bind=True, ignore_result=True, max_retries=BUSY_RETRIES)
def run_gates(self: Any, proposal_id: int) -> None:
    retry_after = gates_run(proposal_id=proposal_id)
    if retry_after is not None:
        raise self.retry(countdown=max(1.0, retry_after))


@shared_task(name="audit.sweep_gates", ignore_result=True)
def sweep_gates() -> None:
    gates_sweep()
