"""RFC 9457 problem details: the one error shape of the agent API, and its stable problem types."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

from patches.client.problems import PROBLEM_BASE  # the one spelling, shared with the client

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProblemKind:
    slug: str
    status: int
    title: str

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug


_KINDS = [
    ProblemKind("bad-request", 400, "Bad request"),
    ProblemKind("bad-signature", 400, "Signature does not verify"),
    ProblemKind("unauthorized", 401, "Missing or invalid bearer token"),
    ProblemKind("unknown-key", 403, "Unknown signing key"),
    ProblemKind("key-not-yours", 403, "Signing key belongs to another agent"),
    ProblemKind("revoked-key", 403, "Signing key is revoked"),
    ProblemKind("not-found", 404, "Not found"),
    ProblemKind("unknown-target", 404, "Unknown target"),
    ProblemKind("revises-not-found", 404, "revises names no proposal of this agent"),
    ProblemKind("unknown-label", 404, "Unknown label"),
    ProblemKind("method-not-allowed", 405, "Method not allowed"),
    ProblemKind("replayed-nonce", 409, "Nonce already used"),
    ProblemKind("replayed-patch", 409, "Proposal already submitted"),
    ProblemKind("stale-base", 409, "base_version is not current"),
    ProblemKind("not-withdrawable", 409, "Proposal can no longer be withdrawn"),
    ProblemKind("revises-not-open", 409, "The revised proposal is no longer open"),
    ProblemKind("rebase-conflict", 409, "The change no longer applies to the current version"),
    ProblemKind("not-stale", 409, "Only a stale proposal is rebased"),
    ProblemKind("payload-too-large", 413, "Request body too large"),
    ProblemKind("unsupported-media-type", 415, "Unsupported media type"),
    ProblemKind("malformed-envelope", 422, "Malformed envelope"),
    ProblemKind("validation-error", 422, "Invalid request parameters"),
    ProblemKind("patch-type-mismatch", 422, "patch_type is not the target's"),
    ProblemKind("unknown-test", 422, "Unknown or unfit test name"),
    ProblemKind("patch-does-not-apply", 422, "Patch does not parse or apply"),
    ProblemKind("revises-other-target", 422, "revises names a proposal on another target"),
    ProblemKind("too-many-pending", 429, "Too many open proposals"),
    ProblemKind("too-many-reports", 429, "Too many observed reports"),
    ProblemKind("internal-error", 500, "Internal error"),
    ProblemKind("service-unavailable", 503, "Service temporarily unavailable"),
]
KINDS: dict[str, ProblemKind] = {kind.slug: kind for kind in _KINDS}


class Problem(Exception):
    """Raised anywhere under /api/v1; the API turns it into one problem+json response."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = KINDS[slug]
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


def problem_body(kind: ProblemKind, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind.type,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
        **extra,
    }


def problem_response(
    slug: str,
    detail: str,
    *,
    request: HttpRequest | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> HttpResponse:
    kind = KINDS[slug]
    body = problem_body(kind, detail, **extra)
    if request is not None:
        body["instance"] = request.path
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=kind.status,
        content_type=f"{PROBLEM_MEDIA_TYPE}; charset=utf-8",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(
        exc.kind.slug, exc.detail, request=request, headers=exc.headers, **exc.extra
    )


def is_problem(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith(PROBLEM_MEDIA_TYPE)


def as_problem(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Turn a plain Django/ninja error response (404, 405, …) into a problem; others pass."""
    if response.status_code < 400 or is_problem(response):
        return response
    if response.status_code == 405:
        allowed = response.get("Allow", "")
        return problem_response(
            "method-not-allowed",
            f"{request.method} is not allowed on {request.path}; allowed: {allowed}",
            request=request,
            headers={"Allow": allowed},
        )
    if response.status_code == 404:
        return problem_response("not-found", f"no such resource: {request.path}", request=request)
    if response.status_code == 413:
        return problem_response("payload-too-large", "request body too large", request=request)
    if response.status_code >= 500:
        return problem_response(
            "internal-error", "the server failed; it has been logged", request=request
        )
    return problem_response("bad-request", response.reason_phrase, request=request)


def problem_components() -> dict[str, Any]:
    """The OpenAPI schema of a problem document."""
    return {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "enum": [kind.type for kind in _KINDS]},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object"}},
            "conflicts": {
                "type": "array",
                "description": "rebase-conflict: each hunk or JSON operation that no longer applies",
                "items": {"type": "object", "properties": {"where": {}, "problem": {}}},
            },
        },
    }
