"""Agent API: reading targets by label and instance and their versions (ETag / If-None-Match
on what a label serves), and the fleet's `observed` reports."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Prefetch
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status

from console.api.auth import agent_auth, request_agent
from console.api.problems import Problem
from console.api.schemas import ObservedIn, TargetLabelledOut, TargetOut, TargetSummary
from console.api.schemas import Problem as ProblemSchema
from patches.fleet import ObservedRefused, observed_record
from patches.label_models import PRODUCTION
from patches.labels import LabelNotFound, label_read
from patches.models import Label, Target, TargetVersion

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
    labels = Prefetch("target__labels", queryset=Label.objects.order_by("name"))
    current = (
        TargetVersion.objects.filter(version=F("target__version"))
        .select_related("target")
        .prefetch_related(labels)
    )
    return [
        {
            "name": row.target.name,
            "patch_type": row.target.patch_type,
            "version": row.version,
            "content_hash": row.content_hash,
            "labels": {label.name: label.version for label in row.target.labels.all()},
        }
        for row in current.order_by("target__name").defer("content", "inverse_patch")
    ]


@router.get(
    "/targets/{name}",
    response={200: TargetLabelledOut, 304: None, **ERRORS},
    summary="The version a label serves to an instance (ETag = content_hash)",
)
def targets_get(
    request: HttpRequest,
    name: str,
    response: HttpResponse,
    label: str = Query(PRODUCTION, max_length=50, description="the label to read"),
    instance: str | None = Query(
        None, min_length=1, max_length=200, description="the instance; default: the agent's name"
    ),
) -> Any:
    try:
        read = label_read(
            target_name=name,
            label_name=label,
            instance=instance if instance is not None else request_agent(request).name,
        )
    except LabelNotFound as exc:
        raise Problem("unknown-label" if exc.missing == "label" else "not-found", str(exc)) from exc
    etag = etag_of(read.version.content_hash)
    if etag_matches(request.headers.get("If-None-Match", ""), etag):
        not_modified = HttpResponse(status=304)
        not_modified["ETag"] = etag
        return not_modified
    response["ETag"] = etag
    return {
        **version_body(read.target, read.version),
        "label": read.label.name,
        "rollout": read.rollout,
    }


@router.post(
    "/targets/{name}/observed",
    response={204: None, **{c: ProblemSchema for c in (400, 404, 422, 429)}},
    summary="Report what an agent instance runs now (telemetry for the fleet view; not logged)",
)
def targets_observed(request: HttpRequest, name: str, body: ObservedIn) -> Any:
    try:
        observed_record(
            agent=request_agent(request),
            target_name=name,
            instance=body.instance,
            content_hash=body.content_hash,
            label=body.label,
        )
    except ObservedRefused as exc:
        slugs = {404: "not-found", 422: "validation-error", 429: "too-many-reports"}
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        raise Problem(slugs[exc.status], exc.detail, headers=headers) from exc
    return Status(204, None)


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
