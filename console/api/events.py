"""Agent API: the event log feed, paged by sequence number: all of it for auditors (log:read),
the events about its own proposals and keys for any other agent."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from console.api.auth import agent_auth, request_agent
from console.api.schemas import EventOut
from console.api.schemas import Problem as ProblemSchema
from patches.agents import agent_events
from patches.canonical import format_timestamp
from patches.models import Event

router = Router(tags=["events"], auth=agent_auth)

MAX_SEQ = 2**63 - 1
MAX_LIMIT = 1000


@router.get(
    "/events",
    response={200: list[EventOut], 401: ProblemSchema, 422: ProblemSchema},
    summary="Events with seq > after, oldest first",
)
def events_list(
    request: HttpRequest,
    after: int = Query(0, ge=0, le=MAX_SEQ),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
) -> list[dict[str, Any]]:
    # Filtered before the slice: a page is the next `limit` events this agent may see.
    visible = agent_events(agent=request_agent(request))
    rows = visible.filter(seq__gt=after).order_by("seq")[:limit]
    return [event_out(row) for row in rows]


def event_out(row: Event) -> dict[str, Any]:
    """An event as the API shows it; webhooks post exactly this (console.webhooks.delivery)."""
    return {
        "seq": row.seq,
        "kind": row.kind,
        "actor": row.actor,
        "payload": json.loads(row.payload),
        "created_at": format_timestamp(row.created_at),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }
