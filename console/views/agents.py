"""Agents, their keys and tokens (admins only): key revocation and token rotation."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console.views.access import admin_view, agent_for, viewer_of
from patches.agents import AgentError, agent_key_revoke, agent_token_rotate
from patches.models import Agent, AgentKey, AgentToken

_KEY_ID = re.compile(r"[0-9a-f]{64}")


def _agents_context(**extra: Any) -> dict[str, Any]:
    agents = Agent.objects.order_by("name").prefetch_related(
        Prefetch("keys", queryset=AgentKey.objects.order_by("created_at")),
        Prefetch(
            "tokens",
            queryset=AgentToken.objects.filter(revoked_at__isnull=True).order_by("-created_at"),
            to_attr="live_tokens",
        ),
    )
    return {"agents": list(agents), **extra}


@require_GET
@admin_view
def agent_list(request: HttpRequest) -> HttpResponse:
    return render(request, "console/agents.html", _agents_context())


@require_POST
@admin_view
def agent_key_revoke_view(request: HttpRequest, key_id: str) -> HttpResponse:
    # A key id is 64 hex digits; anything else (a NUL, which PostgreSQL refuses) names no key.
    key = AgentKey.objects.filter(key_id=key_id).first() if _KEY_ID.fullmatch(key_id) else None
    if key is None:
        raise Http404(f"No key {key_id}.")
    try:
        agent_key_revoke(key=key, actor=viewer_of(request).actor)
    except AgentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Revoked key {key_id[:16]}… of {key.agent.name}.")
    return redirect("agents")


@require_POST
@admin_view
def agent_token_rotate_view(request: HttpRequest, name: str) -> HttpResponse:
    agent = agent_for(viewer_of(request), name)
    if agent.is_console:
        raise Http404("The console's own agent has no API token.")
    token = agent_token_rotate(agent=agent)
    # Rendered, not redirected: the token is shown this once and stored only as its hash.
    context = _agents_context(new_token={"agent": agent.name, "token": token})
    response = render(request, "console/agents.html", context)
    response["Cache-Control"] = "no-store"
    return response
