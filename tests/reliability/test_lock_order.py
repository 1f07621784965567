"""Revoking a key while a submit commits cannot deadlock on the log's chain lock (PostgreSQL).

A submit holds the chain lock when it commits, and its foreign keys then take KEY SHARE locks
on its agent's and key's rows. A key revocation locks the key row and then waits for the chain
lock. Its row lock must not block KEY SHARE, or the two wait for each other.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import close_old_connections, connection

from patches.agents import agent_key_revoke
from patches.log import CHAIN_LOCK_KEY
from patches.models import AgentKey
from tests.factories import make_agent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _conninfo() -> str:
    settings = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"],
        user=settings["USER"] or "postgres",
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )


def _waiting_for_the_chain_lock(observer: psycopg.Connection) -> bool:
    row = observer.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()
    return bool(row and row[0])


def test_a_key_revocation_waiting_for_the_chain_lock_does_not_block_a_committing_submit():
    persona = make_agent("agent-smith")
    key = AgentKey.objects.get(agent=persona.agent)
    errors: list[BaseException] = []
    with (
        psycopg.connect(_conninfo(), autocommit=True) as submit,
        psycopg.connect(_conninfo(), autocommit=True) as observer,
    ):
        # The submit's side: it holds the chain lock, as it does from its event to its COMMIT.
        submit.execute("BEGIN")
        submit.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])

        def revoke() -> None:
            try:
                agent_key_revoke(key=key, actor="user:test")
            except BaseException as exc:  # reported below: a thread cannot fail the test itself
                errors.append(exc)
            finally:
                connection.close()

        thread = threading.Thread(target=revoke)
        thread.start()
        deadline = time.monotonic() + 10
        while not _waiting_for_the_chain_lock(observer) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _waiting_for_the_chain_lock(observer), "the revocation never reached the lock"
        # What the submit's foreign keys do at COMMIT, bounded so a conflict fails the test
        # rather than waiting for the deadlock detector.
        submit.execute("SET LOCAL lock_timeout = '2s'")
        for table, pk in (("patches_agentkey", key.pk), ("patches_agent", persona.agent.pk)):
            submit.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [pk])  # noqa: S608
        submit.execute("COMMIT")
        thread.join(timeout=10)
    close_old_connections()
    assert not errors, errors
    key.refresh_from_db()
    assert key.revoked_at is not None
