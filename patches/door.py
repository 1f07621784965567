"""What the submit door reads in one query: caller, target, base, key, replay and pending facts.

One query instead of seven: it also authenticates the API's bearer token, as
patches.agents.agent_for_token does. The submit path checks these facts in contract order in
Python, and the unique constraints on nonce and patch_hash still settle any race at INSERT
time. On PostgreSQL it can also reserve the new proposal's id, which its PatchProposed event
names (patches.store).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connections

from patches import rows
from patches.agents import AGENT_FIELDS as _AGENT_FIELDS
from patches.agents import live_token_condition, live_token_params
from patches.models import (
    OPEN_STATUSES,
    Agent,
    AgentKey,
    AgentToken,
    Proposal,
    Target,
    TargetVersion,
)

_TARGET_FIELDS = ("id", "name", "patch_type", "schema", "required_approvals", "version")
_BASE_FIELDS = ("id", "target_id", "version", "content", "content_hash")
_KEY_FIELDS = ("id", "agent_id", "key_id", "public_key", "revoked_at")


@dataclass(frozen=True)
class DoorFacts:
    target: Target
    base: TargetVersion  # the target's current version
    key: AgentKey | None  # the key named by the signature, whoever's it is
    nonce_used: bool
    patch_hash_used: bool
    pending: int  # the agent's open proposals, counted up to the limit asked for
    has_mandatory_tests: bool
    # PostgreSQL, when asked: an id reserved for the new proposal, unless a fact read here
    # already refuses the submission (so those refusals leave no gap in the ids).
    proposal_id: int | None = None


@lru_cache(maxsize=4)
def _sql(vendor: str, by_token: bool) -> str:
    proposals = Proposal._meta.db_table
    statuses = ", ".join(["%s"] * len(OPEN_STATUSES))
    facts = (
        f"EXISTS (SELECT 1 FROM {proposals} p WHERE p.nonce = %s) AS nonce_used,"  # noqa: S608
        f" EXISTS (SELECT 1 FROM {proposals} p WHERE p.patch_hash = %s) AS hash_used,"
        # LIMIT keeps the count cheap however many proposals are open.
        f" (SELECT COUNT(*) FROM (SELECT 1 FROM {proposals} p WHERE p.agent_id = a.id"
        f" AND p.status IN ({statuses}) LIMIT %s) pending) AS pending,"
        f" EXISTS (SELECT 1 FROM {Target.mandatory_tests.through._meta.db_table} m"
        " WHERE m.target_id = t.id) AS has_mandatory"
    )
    columns = (
        f"{rows.columns(Agent, _AGENT_FIELDS, 'a')},"
        f" {rows.columns(Target, _TARGET_FIELDS, 't')},"
        f" {rows.columns(TargetVersion, _BASE_FIELDS, 'v')},"
        f" {rows.columns(AgentKey, _KEY_FIELDS, 'k')}"
    )
    # The caller first (no row: the token is not a live one), then the rest outer-joined to it.
    caller = f" FROM {Agent._meta.db_table} a"
    if by_token:
        caller += f" JOIN {AgentToken._meta.db_table} tok ON tok.agent_id = a.id"
    tables = (
        f"{caller} LEFT JOIN {Target._meta.db_table} t ON t.name = %s"
        f" LEFT JOIN {TargetVersion._meta.db_table} v"
        " ON v.target_id = t.id AND v.version = t.version"
        f" LEFT JOIN {AgentKey._meta.db_table} k ON k.key_id = %s"
    )
    where = f" WHERE {live_token_condition('tok', 'a')}" if by_token else " WHERE a.id = %s"
    if vendor != "postgresql":
        return f"SELECT {columns}, {facts}{tables}{where}"
    # The facts in a LATERAL subquery, so that the reservation can test them by name.
    return (
        f"SELECT {columns}, f.nonce_used, f.hash_used, f.pending, f.has_mandatory,"
        " CASE WHEN %s AND t.patch_type = %s AND k.agent_id = a.id AND k.revoked_at IS NULL"
        " AND NOT f.nonce_used AND NOT f.hash_used AND t.version = %s AND f.pending < %s"
        f" THEN nextval(pg_get_serial_sequence('{proposals}', 'id')) END"
        f"{tables} CROSS JOIN LATERAL (SELECT {facts}) f{where}"
    )


def door_facts(
    *,
    caller: Agent | str,
    target: str,
    key_id: str,
    nonce: str,
    patch_hash: str,
    pending_limit: int,
    reserve_for: tuple[str, int] | None = None,
) -> tuple[Agent | None, DoorFacts | None]:
    """(the submitting agent, the facts for its submission) in one query.

    caller: the agent, or the bearer token the API received, which this query authenticates as
    agent_for_token does: (None, None) when it is not an active agent's live token. The facts
    are None when no target has that name.

    reserve_for=(patch_type, base_version), PostgreSQL only: also reserve a proposal id when
    the target's type, the key, both replay checks, base_version and the pending count let
    the submission through (proposal_id stays None otherwise).
    """
    by_token = isinstance(caller, str)
    who = live_token_params(caller) if isinstance(caller, str) else [caller.pk]
    facts: list[bool | str | int] = [nonce, patch_hash, *OPEN_STATUSES, pending_limit]
    db = connections[DEFAULT_DB_ALIAS]  # one lookup of the thread's connection, not three
    postgres = db.vendor == "postgresql"
    if postgres:
        patch_type, base_version = reserve_for or ("", 0)
        reserve = [reserve_for is not None, patch_type, base_version, pending_limit]
        params = [*reserve, target, key_id, *facts, *who]
    else:
        params = [*facts, target, key_id, *who]
    with db.cursor() as cursor:
        cursor.execute(_sql(db.vendor, by_token), params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    a_end = len(_AGENT_FIELDS)
    t_end = a_end + len(_TARGET_FIELDS)
    v_end = t_end + len(_BASE_FIELDS)
    k_end = v_end + len(_KEY_FIELDS)
    agent = rows.instance(Agent, _AGENT_FIELDS, row[:a_end])
    if row[a_end] is None:
        return agent, None
    target_row = rows.instance(Target, _TARGET_FIELDS, row[a_end:t_end])
    base = rows.instance(TargetVersion, _BASE_FIELDS, row[t_end:v_end])
    base.target = target_row
    key = rows.instance(AgentKey, _KEY_FIELDS, row[v_end:k_end]) if row[v_end] is not None else None
    nonce_used, hash_used, pending, has_mandatory = row[k_end : k_end + 4]
    proposal_id = row[k_end + 4] if postgres else None
    return agent, DoorFacts(
        target=target_row,
        base=base,
        key=key,
        nonce_used=bool(nonce_used),
        patch_hash_used=bool(hash_used),
        pending=int(pending),
        has_mandatory_tests=bool(has_mandatory),
        proposal_id=int(proposal_id) if proposal_id is not None else None,
    )
