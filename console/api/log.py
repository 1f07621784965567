"""Agent API: the transparency log: the latest checkpoint (public), an event's tlog-proof (the
event's own visibility), and consistency proofs between signed checkpoint sizes (public)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Path as PathParam
from ninja import Query, Router

from audit.transparency import (
    TransparencyError,
    checkpoint_latest,
    event_tlog_proof,
    log_consistency,
    served_note,
)
from console.api.auth import agent_auth, request_agent
from console.api.problems import Problem
from console.api.schemas import Problem as ProblemSchema
from patches.agents import agent_events
from patches.client.tlog import b64

router = Router(tags=["log"])

MAX_SEQ = 2**63 - 1
TEXT = "text/plain; charset=utf-8"


def _problem(error: TransparencyError) -> Problem:
    # 404 for every proof that does not exist, including a size below the event or from > to:
    # the request is well-formed, there is just no such proof.
    return Problem("not-found", str(error))


@router.get(
    "/events/{seq}/proof",
    auth=agent_auth,
    response={200: str, 401: ProblemSchema, 404: ProblemSchema},
    summary="A C2SP tlog-proof of the event in the signed checkpoint of size N",
    openapi_extra={
        "responses": {"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}}
    },
)
def event_proof(
    request: HttpRequest,
    seq: int = PathParam(..., ge=1, le=MAX_SEQ),
    size: int | None = Query(None, ge=1, le=MAX_SEQ),
) -> HttpResponse:
    # The same 404 for "no such event" and "not yours" (the events feed's own scoping).
    if not agent_events(agent=request_agent(request)).filter(seq=seq).exists():
        raise Problem("not-found", f"no event {seq} visible to this agent")
    try:
        proof = event_tlog_proof(seq=seq, size=size)
    except TransparencyError as error:
        raise _problem(error) from error
    return HttpResponse(proof, content_type=TEXT)


@router.get(
    "/log/checkpoint",
    auth=None,
    response={200: str, 404: ProblemSchema},
    summary="The latest checkpoint as a C2SP signed note, with its witness cosignatures",
    openapi_extra={
        "responses": {"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}}
    },
)
def log_checkpoint(request: HttpRequest) -> HttpResponse:
    try:
        checkpoint = checkpoint_latest()
    except TransparencyError as error:
        raise _problem(error) from error
    return HttpResponse(served_note(checkpoint), content_type=TEXT)


@router.get(
    "/log/consistency",
    auth=None,
    response={200: dict[str, Any], 404: ProblemSchema, 422: ProblemSchema},
    summary="An RFC 9162 consistency proof between two signed checkpoint sizes",
)
def log_consistency_proof(
    request: HttpRequest,
    from_: int = Query(..., alias="from", ge=1, le=MAX_SEQ),
    to: int = Query(..., ge=1, le=MAX_SEQ),
) -> dict[str, Any]:
    try:
        proof = log_consistency(size1=from_, size2=to)
    except TransparencyError as error:
        raise _problem(error) from error
    return {"from": from_, "to": to, "proof": [b64(p) for p in proof]}
