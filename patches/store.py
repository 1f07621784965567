"""Storing an accepted submission: the proposal, its signature, gate run and PatchProposed event.

Two ways, the same rows (tests/patches/test_store.py compares every column):

- through the ORM, on any backend: BEGIN, three INSERTs, the chain lock, the head read, the
  event INSERT and COMMIT, one round trip each, the lock held across three of them;
- on PostgreSQL, one INSERT … WITH statement, its own transaction: the proposal, its signature,
  its gate run with one pending result per test, and the PatchProposed event, which takes the
  chain lock and is chained to the head as it is once the lock is held
  (audit.log.ChainWriter). No other writer of the log waits on this client while it holds the
  lock. The proposal's id, which the event names, was reserved by the door query
  (patches.door).

A signed submit is the API's busiest write: on PostgreSQL the round trips cost more CPU in the
driver and the server than the work they carried (figures in docs/performance.md).
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from patches import ports, rows
from patches.models import (
    Agent,
    AgentKey,
    GateStatus,
    Proposal,
    ProposalStatus,
    Signature,
    Target,
    TargetVersion,
    TestDefinition,
    TestOutcome,
    TestResult,
    TestRun,
)
from patches.testgate.schedule import gate_enqueue_on_commit, gate_schedule


@dataclass(frozen=True)
class Accepted:
    """A submission that passed every door check, with what storing it needs."""

    proposal_id: int | None  # reserved by the door query (PostgreSQL), when it could
    agent: Agent
    key: AgentKey
    target: Target
    base: TargetVersion
    envelope: str  # the body exactly as received
    fields: dict[str, Any]  # the signed proposal
    patch_hash: str
    algorithm: str
    signature: str
    tests: list[TestDefinition]


@cache
def _next_id_sql() -> str:
    return f"SELECT nextval(pg_get_serial_sequence('{Proposal._meta.db_table}', 'id'))"


@cache
def _statement(append: str) -> str:
    """The rows and, in `append` (audit.log.ChainWriter), the event: one INSERT … WITH."""
    proposals = Proposal._meta.db_table
    return (
        f"WITH p AS (INSERT INTO {proposals} (id, envelope, patch_hash, nonce, patch_type,"  # noqa: S608
        " base_version, base_content_hash, patch, reasoning, test_requirements, status, stage,"
        " reason, approvals_required, created_at, updated_at, decided_at, agent_id,"
        " submitted_by_id, target_id, reverts_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, '', '', %s, %s, %s, NULL,"
        " %s, NULL, %s, NULL) RETURNING id),"
        f" s AS (INSERT INTO {Signature._meta.db_table} (algorithm, value, verified_at, key_id,"
        " proposal_id) SELECT %s, %s, %s, %s, p.id FROM p),"
        f" r AS (INSERT INTO {TestRun._meta.db_table} (patch_hash, status, attempts,"
        " enqueued_at, started_at, finished_at, proposal_id, claimed_by, lease_until)"
        " SELECT %s, %s, 0, %s, NULL, NULL, p.id, '', NULL FROM p RETURNING id),"
        f" results AS (INSERT INTO {TestResult._meta.db_table} (name, position, status,"
        " duration_ms, output, cases, test_id, run_id)"
        " SELECT t.name, t.position, %s, NULL, '', '[]'::jsonb, t.test_id, r.id"
        # One JSON parameter for the tests: cheaper to send than three arrays.
        " FROM r, jsonb_to_recordset(%s::jsonb) AS t(name text, position int, test_id bigint)),"
        f" e AS ({append})"
        " SELECT seq, prev_hash, hash FROM e"
    )


def _payload(accepted: Accepted, proposal_id: int) -> dict[str, Any]:
    fields = accepted.fields
    return {
        "patch_type": fields["patch_type"],
        "target": accepted.target.name,
        "patch_hash": accepted.patch_hash,
        "base_version": fields["base_version"],
        "base_content_hash": accepted.base.content_hash,
        "reasoning": fields["reasoning"],
        "test_requirements": fields["test_requirements"],
        "tests": [test.name for test in accepted.tests],
        "agent": accepted.agent.name,
        "key_id": accepted.key.key_id,
        "proposal": proposal_id,
    }


def proposal_store(accepted: Accepted) -> Proposal:
    """Store the proposal and everything that goes with it, and queue its gate on commit.

    IntegrityError, storing nothing, when the nonce or the patch_hash was taken since the
    door checked.
    """
    if connection.vendor != "postgresql":  # SQLite has no INSERT inside WITH
        return _store_orm(accepted)
    proposal = _store_at_once(accepted)
    gate_enqueue_on_commit(proposal.pk)
    return proposal


def _proposal(accepted: Accepted, **stored: Any) -> Proposal:
    """The new proposal as a model instance; `stored`: what the database already assigned."""
    fields = accepted.fields
    return Proposal(
        agent=accepted.agent,
        target=accepted.target,
        envelope=accepted.envelope,
        patch_hash=accepted.patch_hash,
        nonce=fields["nonce"],
        patch_type=fields["patch_type"],
        base_version=fields["base_version"],
        base_content_hash=accepted.base.content_hash,
        patch=fields["patch"],
        reasoning=fields["reasoning"],
        test_requirements=fields["test_requirements"],
        status=ProposalStatus.TESTING,
        approvals_required=accepted.target.required_approvals,
        **stored,
    )


def _store_orm(accepted: Accepted) -> Proposal:
    with transaction.atomic():
        proposal = _proposal(accepted)
        # Without the ORM's query compilation (patches.rows).
        rows.insert(proposal)
        rows.insert(
            Signature(
                proposal=proposal,
                key=accepted.key,
                algorithm=accepted.algorithm,
                value=accepted.signature,
                verified_at=timezone.now(),
            )
        )
        gate_schedule(proposal=proposal, tests=accepted.tests)
        # The event last: the log's chain lock it takes is held until COMMIT, so every
        # other write of this transaction happens before it, not while other submits wait.
        ports.record_event(
            kind="PatchProposed",
            actor=f"agent:{accepted.agent.name}",
            payload=_payload(accepted, proposal.pk),
            proposal=proposal,
        )
    return proposal


def _store_at_once(accepted: Accepted) -> Proposal:
    chain = ports.chain_writer()
    fields = accepted.fields
    tests = accepted.tests
    proposal_id = accepted.proposal_id
    if proposal_id is None:  # e.g. the console's agent, which the pending limit does not bind
        with connection.cursor() as cursor:
            cursor.execute(_next_id_sql())
            (proposal_id,) = cursor.fetchone()
    now = timezone.now()
    values = [
        proposal_id,
        accepted.envelope,
        accepted.patch_hash,
        fields["nonce"],
        fields["patch_type"],
        fields["base_version"],
        accepted.base.content_hash,
        fields["patch"],
        fields["reasoning"],
        json.dumps(fields["test_requirements"]),
        ProposalStatus.TESTING.value,
        accepted.target.required_approvals,
        now,
        now,
        accepted.agent.pk,
        accepted.target.pk,
        # the signature
        accepted.algorithm,
        accepted.signature,
        now,
        accepted.key.pk,
        # the gate run and its results
        accepted.patch_hash,
        GateStatus.QUEUED.value,
        now,
        TestOutcome.PENDING.value,
        json.dumps(
            [
                {"name": test.name, "position": position, "test_id": test.pk}
                for position, test in enumerate(tests)
            ]
        ),
    ]
    append, append_params, before = chain.append_after_head(
        kind="PatchProposed",
        actor=f"agent:{accepted.agent.name}",
        payload=_payload(accepted, proposal_id),
        proposal_id=proposal_id,
    )
    # The statement is its own transaction; inside a caller's (a revert), a savepoint keeps a
    # failure from aborting the caller's work.
    scope = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with scope, connection.cursor() as cursor:
        cursor.execute(_statement(append), values + append_params)
        appended = cursor.fetchone()
    chain.check_appended(before, appended)
    proposal = _proposal(accepted, id=proposal_id, created_at=now, updated_at=now)
    proposal._state.adding = False
    proposal._state.db = connection.alias
    return proposal
