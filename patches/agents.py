"""Agents, their Ed25519 keys and their API tokens: registration, revocation, rotation, scopes,
and which events of the log an agent's token may read."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from patches.canonical import canonical_text
from patches.log import event_append
from patches.models import Agent, AgentKey, AgentScope, AgentToken, Event
from patches.signing import key_id_of, raw_public_key

TOKEN_PREFIX = "pat_"  # noqa: S105  (a prefix, not a secret)
CONSOLE_AGENT = "console"
KEY_EVENT_KINDS = ("AgentKeyRegistered", "AgentKeyRevoked")


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


def agent_scopes_set(*, agent: Agent, scopes: Sequence[str], actor: str) -> Agent:
    """Give the agent's tokens exactly these scopes; a change is an AgentScopesChanged event."""
    unknown = sorted(set(scopes) - set(AgentScope.values))
    if unknown:
        raise AgentError(f"unknown scopes {', '.join(unknown)}: use {', '.join(AgentScope.values)}")
    wanted = sorted(set(scopes))
    with transaction.atomic():
        agent = Agent.objects.select_for_update(no_key=True, of=("self",)).get(pk=agent.pk)
        before = sorted(agent.scopes) if isinstance(agent.scopes, list) else []
        if before == wanted:
            return agent
        agent.scopes = wanted
        agent.save(update_fields=["scopes"])
        # log:read opens the whole log to a token, so who granted it to whom is in the log.
        event_append(
            kind="AgentScopesChanged",
            actor=actor,
            payload={"agent": agent.name, "from": before, "to": wanted},
        )
    return agent


def agent_events(*, agent: Agent) -> QuerySet[Event]:
    """The events agent's token may read: all with log:read (auditors), else those about its
    own proposals (by the event's proposal) and its keys (their key events, by key_id)."""
    if agent.has_scope(AgentScope.LOG_READ):
        return Event.objects.all()
    about = Q(proposal__agent_id=agent.pk)
    key_ids = list(agent.keys.values_list("key_id", flat=True))
    if key_ids:
        # The payload is canonical text, so `"key_id":"<hex>"` appears in it exactly as
        # canonical_text writes it; key ids are lowercase hex, so SQLite's case-blind LIKE
        # cannot match another agent's key.
        about_keys = Q()
        for key_id in key_ids:
            about_keys |= Q(payload__contains=canonical_text({"key_id": key_id})[1:-1])
        about |= Q(kind__in=KEY_EVENT_KINDS) & about_keys
    return Event.objects.filter(about)


def agent_create(
    *,
    name: str,
    actor: str,
    public_key: bytes | None = None,
    description: str = "",
    scopes: Sequence[str] = (),
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
        if scopes:
            agent = agent_scopes_set(agent=agent, scopes=scopes, actor=actor)
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
