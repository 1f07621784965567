"""Agents, their Ed25519 keys and their API tokens: registration, revocation, rotation."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils import timezone

from patches.log import event_append
from patches.models import Agent, AgentKey, AgentToken
from patches.signing import key_id_of, raw_public_key

TOKEN_PREFIX = "pat_"  # noqa: S105  (a prefix, not a secret)
CONSOLE_AGENT = "console"


class AgentError(ValueError):
    """An agent, key or token request that cannot be carried out; the message says why."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def agent_for_token(token: str) -> Agent | None:
    """The active agent whose live token this is, or None."""
    try:
        # get(), not first(): token_hash is unique, and first() would sort by name for nothing.
        return Agent.objects.get(
            is_active=True, tokens__token_hash=token_hash(token), tokens__revoked_at__isnull=True
        )
    except Agent.DoesNotExist:
        return None


@dataclass(frozen=True)
class NewAgent:
    agent: Agent
    token: str
    key: AgentKey
    private_key: Ed25519PrivateKey | None  # only when the console generated the keypair


def agent_key_register(*, agent: Agent, public_key: bytes, actor: str) -> AgentKey:
    if len(public_key) != 32:
        raise AgentError(f"an Ed25519 public key has 32 bytes, got {len(public_key)}")
    key_id = key_id_of(public_key)
    with transaction.atomic():
        if AgentKey.objects.filter(key_id=key_id).exists():
            raise AgentError(f"key {key_id} is already registered")
        key = AgentKey.objects.create(agent=agent, key_id=key_id, public_key=public_key.hex())
        event_append(
            kind="AgentKeyRegistered",
            actor=actor,
            payload={"agent": agent.name, "key_id": key_id, "public_key": public_key.hex()},
        )
    return key


def agent_key_revoke(*, key: AgentKey, actor: str) -> AgentKey:
    with transaction.atomic():
        # FOR NO KEY UPDATE of the key row alone: a submit holding the log's chain lock takes
        # KEY SHARE locks on its key and agent rows when it commits (its foreign keys), which
        # FOR UPDATE would block while this waits for the chain lock: a deadlock.
        key = (
            AgentKey.objects.select_for_update(no_key=True, of=("self",))
            .select_related("agent")
            .get(pk=key.pk)
        )
        if key.revoked_at is not None:
            raise AgentError(f"key {key.key_id} is already revoked")
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        event_append(
            kind="AgentKeyRevoked",
            actor=actor,
            payload={"agent": key.agent.name, "key_id": key.key_id},
        )
    return key


def agent_token_rotate(*, agent: Agent) -> str:
    """A new token for agent; every earlier token stops working. Returns the token (shown once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        AgentToken.objects.filter(agent=agent, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        AgentToken.objects.create(agent=agent, token_hash=token_hash(token), prefix=token[:12])
    return token


def agent_create(
    *, name: str, actor: str, public_key: bytes | None = None, description: str = ""
) -> NewAgent:
    """Register an agent with one key (generated here when none is given) and one API token."""
    if name == CONSOLE_AGENT:
        raise AgentError(f"the name {CONSOLE_AGENT!r} is reserved for the console itself")
    if Agent.objects.filter(name=name).exists():
        raise AgentError(f"agent {name!r} already exists")
    private_key = None
    if public_key is None:
        private_key = Ed25519PrivateKey.generate()
        public_key = raw_public_key(private_key.public_key())
    with transaction.atomic():
        agent = Agent.objects.create(name=name, description=description)
        key = agent_key_register(agent=agent, public_key=public_key, actor=actor)
        token = agent_token_rotate(agent=agent)
    return NewAgent(agent=agent, token=token, key=key, private_key=private_key)


def console_agent() -> Agent:
    """The console's own agent and key, which sign reverts on a reviewer's behalf."""
    from patches.signing import console_public_key

    with transaction.atomic():
        agent, _ = Agent.objects.get_or_create(
            name=CONSOLE_AGENT,
            defaults={"is_console": True, "description": "The console itself (reverts)."},
        )
        raw = console_public_key()
        if not AgentKey.objects.filter(key_id=key_id_of(raw)).exists():
            agent_key_register(agent=agent, public_key=raw, actor="system:console")
    return agent
