"""Agent API: reading targets and their versions, with ETag / If-None-Match on the current one."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.http import HttpRequest, HttpResponse
from ninja import Path, Router

from console.api.auth import agent_auth
from console.api.problems import Problem
from console.api.schemas import Problem as ProblemSchema
from console.api.schemas import TargetOut, TargetSummary
from patches.models import Target, TargetVersion

router = Router(tags=["targets"], auth=agent_auth)

MAX_VERSION = 2**63 - 1
ERRORS = {code: ProblemSchema for code in (401, 404, 422)}


def etag_of(content_hash: str) -> str:
    return f'"{content_hash}"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison against a list of entity tags (or "*")."""
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def _target(name: str) -> Target:
    # No target name holds a NUL, and PostgreSQL would refuse one in the query.
    target = None if "\x00" in name else Target.objects.filter(name=name).first()
    if target is None:
        raise Problem("not-found", f"no target named {name!r}")
    return target


def version_body(target: Target, version: TargetVersion) -> dict[str, Any]:
    version.target = target  # TargetVersion.value reads the patch type from it
    return {
        "name": target.name,
        "patch_type": target.patch_type,
        "version": version.version,
        "content": version.value,
        "content_hash": version.content_hash,
    }


@router.get("/targets", response={200: list[TargetSummary], 401: ProblemSchema})
def targets_list(request: HttpRequest) -> list[dict[str, Any]]:
    current = TargetVersion.objects.filter(version=F("target__version")).select_related("target")
    return [
        {
            "name": row.target.name,
            "patch_type": row.target.patch_type,
            "version": row.version,
            "content_hash": row.content_hash,
        }
        for row in current.order_by("target__name").defer("content", "inverse_patch")
    ]


@router.get(
    "/targets/{name}",
    response={200: TargetOut, 304: None, **ERRORS},
    summary="The current version of a target (ETag = content_hash)",
)
def targets_get(request: HttpRequest, name: str, response: HttpResponse) -> Any:
    target = _target(name)
    version = TargetVersion.objects.get(target=target, version=target.version)
    etag = etag_of(version.content_hash)
    if etag_matches(request.headers.get("If-None-Match", ""), etag):
        not_modified = HttpResponse(status=304)
        not_modified["ETag"] = etag
        return not_modified
    response["ETag"] = etag
    return version_body(target, version)


@router.get("/targets/{name}/versions/{version}", response={200: TargetOut, **ERRORS})
def targets_version(
    request: HttpRequest,
    name: str,
    response: HttpResponse,
    version: int = Path(..., ge=1, le=MAX_VERSION),
) -> dict[str, Any]:
    target = _target(name)
    row = TargetVersion.objects.filter(target=target, version=version).first()
    if row is None:
        raise Problem(
            "not-found", f"target {name} has no version {version} (it is at {target.version})"
        )
    response["ETag"] = etag_of(row.content_hash)
    return version_body(target, row)
