"""Agent API: submitting, reading, listing and withdrawing one's own proposals."""

from __future__ import annotations

from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from audit.gates import proposal_submit_and_gate
from audit.revisions import NotStale, proposal_rebase, rebase_state
from console.api.auth import agent_auth, request_agent
from console.api.problems import Problem
from console.api.schemas import Problem as ProblemSchema
from console.api.schemas import (
    ProposalOut,
    ProposalSummary,
    RebaseOut,
    Submitted,
)
from patches.canonical import format_timestamp
from patches.formats.rebase import RebaseConflict
from patches.lifecycle import TransitionError, proposal_withdraw
from patches.models import OPEN_STATUSES, Agent, Proposal, ProposalStatus
from patches.submit import SubmitRefused

router = Router(tags=["proposals"], auth=agent_auth)

MAX_ID = 2**63 - 1
ERRORS = {code: ProblemSchema for code in (401, 404, 422)}
SUBMIT_ERRORS = {code: ProblemSchema for code in (400, 401, 403, 404, 409, 413, 422, 429)}


def proposal_url(proposal: Proposal) -> str:
    return f"/api/v1/proposals/{proposal.pk}"


def _read_body(request: HttpRequest) -> bytes:
    """The raw body, refused with 413 before and after reading when it passes the limit."""
    limit = settings.API_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        raise Problem("bad-request", f"Content-Length {declared!r} is not a number") from None
    if length > limit:
        raise Problem(
            "payload-too-large", f"body of {length} bytes is over the limit of {limit} bytes"
        )
    try:
        body = request.body
    except RequestDataTooBig:
        raise Problem("payload-too-large", f"body is over the limit of {limit} bytes") from None
    if len(body) > limit:
        raise Problem(
            "payload-too-large", f"body of {len(body)} bytes is over the limit of {limit} bytes"
        )
    return body


@router.post(
    "/proposals",
    response={201: Submitted, **SUBMIT_ERRORS},
    summary="Submit a signed proposal",
)
def proposals_submit(request: HttpRequest) -> Status:
    try:
        proposal = proposal_submit_and_gate(agent=request_agent(request), body=_read_body(request))
    except SubmitRefused as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        raise Problem(exc.problem, exc.detail, headers=headers) from exc
    return Status(
        201,
        {
            "id": proposal.pk,
            "patch_hash": proposal.patch_hash,
            "status": proposal.status,
            "url": proposal_url(proposal),
            "change": proposal.change_id,
        },
    )


def own_proposal(agent: Agent, proposal_id: int) -> Proposal:
    """The agent's proposal; the same 404 for missing and for another agent's."""
    proposal = Proposal.objects.select_related("target").filter(pk=proposal_id, agent=agent).first()
    if proposal is None:
        raise Problem("not-found", f"you have no proposal {proposal_id}")
    return proposal


def proposal_detail(proposal: Proposal) -> dict[str, Any]:
    run = getattr(proposal, "test_run", None)
    tests = []
    if run is not None:
        tests = [
            {
                "name": result.name,
                "status": result.status,
                "duration_ms": result.duration_ms,
                "output": result.output,
            }
            for result in run.results.order_by("position")
        ]
    # Reviews live in the audit app, which this package may not import (console → audit →
    # patches): read them through the reverse relation audit.Review.proposal installs.
    reviews = [
        {
            "reviewer": review.reviewer.get_username(),
            "decision": review.decision,
            "reason": review.reason,
            "created_at": format_timestamp(review.created_at),
            "carried_from": review.carried_from or None,
            "comments": [{"anchor": c.anchor, "body": c.body} for c in review.comments.all()],
        }
        for review in proposal.reviews.select_related("reviewer")  # type: ignore[attr-defined]
        .prefetch_related("comments")
        .order_by("created_at", "pk")
    ]
    revisions = Proposal.objects.filter(change_id=proposal.change_id).order_by("revision")
    produced = getattr(proposal, "produced_version", None)
    return {
        "id": proposal.pk,
        "patch_hash": proposal.patch_hash,
        "status": proposal.status,
        "stage": proposal.stage,
        "reason": proposal.reason,
        "target": proposal.target.name,
        "patch_type": proposal.patch_type,
        "base_version": proposal.base_version,
        "applied_version": produced.version if produced is not None else None,
        "change": proposal.change_id,
        "revision": proposal.revision,
        "revisions": [
            {"id": r.pk, "patch_hash": r.patch_hash, "status": r.status}
            for r in revisions.only("pk", "patch_hash", "status")
        ],
        "tests": tests,
        "reviews": reviews,
        "stale": rebase_state(proposal),
    }


@router.get("/proposals/{proposal_id}", response={200: ProposalOut, **ERRORS})
def proposals_get(
    request: HttpRequest, proposal_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    return proposal_detail(own_proposal(request_agent(request), proposal_id))


@router.get("/proposals", response={200: list[ProposalSummary], **ERRORS})
def proposals_list(
    request: HttpRequest,
    status: Literal[
        "testing",
        "in_review",
        "changes_requested",
        "stale",
        "superseded",
        "applied",
        "rejected",
        "withdrawn",
    ]
    | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ID),
) -> list[dict[str, Any]]:
    rows = Proposal.objects.filter(agent=request_agent(request)).select_related("target")
    if status is not None:
        rows = rows.filter(status=status)
    return [
        {
            "id": p.pk,
            "patch_hash": p.patch_hash,
            "status": p.status,
            "stage": p.stage,
            "target": p.target.name,
            "base_version": p.base_version,
            "url": proposal_url(p),
        }
        for p in rows.order_by("-pk")[offset : offset + limit]
    ]


@router.post(
    "/proposals/{proposal_id}/withdraw",
    response={200: ProposalOut, 409: ProblemSchema, **ERRORS},
)
def proposals_withdraw(
    request: HttpRequest, proposal_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    agent = request_agent(request)
    proposal = own_proposal(agent, proposal_id)
    try:
        proposal = proposal_withdraw(proposal=proposal, actor=f"agent:{agent.name}")
    except TransitionError:
        proposal.refresh_from_db()
        raise Problem(
            "not-withdrawable",
            f"proposal {proposal.pk} is {proposal.status}; only an open proposal "
            f"({', '.join(OPEN_STATUSES)}) can be withdrawn",
        ) from None
    return proposal_detail(proposal)


@router.get(
    "/proposals/{proposal_id}/rebase",
    response={200: RebaseOut, 409: ProblemSchema, **ERRORS},
    summary="The stale proposal's change re-made against the current version",
)
def proposals_rebase(
    request: HttpRequest, proposal_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    proposal = own_proposal(request_agent(request), proposal_id)
    try:
        rebased = proposal_rebase(proposal)
    except NotStale as exc:
        raise Problem("not-stale", str(exc)) from None
    except RebaseConflict as exc:
        raise Problem(
            "rebase-conflict",
            f"proposal {proposal.pk} does not re-apply to version {proposal.target.version}: {exc}",
            extra={"conflicts": [conflict.as_dict() for conflict in exc.conflicts]},
        ) from None
    return {
        "base_version": rebased.base_version,
        "patch": rebased.patch,
        "same_change": rebased.same_change,
    }


assert set(ProposalStatus.values) == {
    "testing",
    "in_review",
    "changes_requested",
    "stale",
    "superseded",
    "applied",
    "rejected",
    "withdrawn",
}
