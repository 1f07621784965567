"""Bearer-token authentication of agents for the agent API."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from patches.agents import agent_for_token
from patches.models import Agent

# Tokens are "pat_" + 43 URL-safe characters; anything far longer is not worth hashing.
_MAX_TOKEN_CHARS = 256


class AgentBearer(HttpBearer):
    """Authenticates the agent; with deferred=True only the header's shape is checked here.

    A deferred bearer hands the token itself on as request.auth, for a service that
    authenticates it in its own first query (the submit: patches.door) and refuses it with
    SubmitRefused("unauthorized") there.
    """

    def __init__(self, *, deferred: bool = False) -> None:
        super().__init__()
        self.deferred = deferred

    def authenticate(self, request: HttpRequest, token: str) -> Agent | str | None:
        token = token.strip()
        if not token or len(token) > _MAX_TOKEN_CHARS:
            return None
        return token if self.deferred else agent_for_token(token)


agent_auth = AgentBearer()
deferred_agent_auth = AgentBearer(deferred=True)


def request_agent(request: HttpRequest) -> Agent:
    """The agent ninja authenticated for this request."""
    agent = request.auth  # type: ignore[attr-defined]
    assert isinstance(agent, Agent)
    return agent


def request_token(request: HttpRequest) -> str:
    """The bearer token a deferred AgentBearer let through, not yet authenticated."""
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, str)
    return token
