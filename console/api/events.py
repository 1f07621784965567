"""Agent API: the event log feed for auditors, paged by sequence number."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from console.api.auth import agent_auth
from console.api.schemas import EventOut
from console.api.schemas import Problem as ProblemSchema
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
    rows = Event.objects.filter(seq__gt=after).order_by("seq")[:limit]
    return [
        {
            "seq": row.seq,
            "kind": row.kind,
            "actor": row.actor,
            "payload": json.loads(row.payload),
            "created_at": format_timestamp(row.created_at),
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }
        for row in rows
    ]
