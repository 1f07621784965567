"""Bearer-token authentication of agents for the agent API."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from patches.agents import agent_for_token
from patches.models import Agent

# Tokens are "pat_" + 43 URL-safe characters; anything far longer is not worth hashing.
_MAX_TOKEN_CHARS = 256


class AgentBearer(HttpBearer):
    """The active agent whose live token the request bears; ninja answers 401 otherwise."""

    def authenticate(self, request: HttpRequest, token: str) -> Agent | None:
        token = token.strip()
        if not token or len(token) > _MAX_TOKEN_CHARS:
            return None
        return agent_for_token(token)


agent_auth = AgentBearer()


def request_agent(request: HttpRequest) -> Agent:
    """The agent ninja authenticated for this request."""
    agent = request.auth  # type: ignore[attr-defined]
    assert isinstance(agent, Agent)
    return agent
