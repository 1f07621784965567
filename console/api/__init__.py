"""The agent API (/api/v1): routers, problem-details error handling and the OpenAPI document."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from console.api import events, proposals, targets
from console.api import log as transparency_log
from console.api.problems import (
    KINDS,
    PROBLEM_MEDIA_TYPE,
    Problem,
    as_problem,
    from_problem,
    problem_components,
    problem_response,
)
from console.api.schemas import Ping
from console.api.submit_schema import envelope_schema

logger = logging.getLogger(__name__)

_STATUS_SLUGS = {kind.status: slug for slug, kind in reversed(list(KINDS.items()))}


class ProblemAPI(NinjaAPI):
    """NinjaAPI whose every error, including unknown routes and 405s, is a problem document."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = _problem_view(pattern.callback)
        urls.append(re_path(r"^.*$", _unknown_route, name="unknown-route"))
        return urls

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
            problem_components()
        )
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                _problems_in(operation)
        submit = schema["paths"]["/api/v1/proposals"]["post"]
        submit["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": envelope_schema()}},
        }
        return schema


def _problems_in(operation: dict[str, Any]) -> None:
    """Error responses are application/problem+json with the Problem schema."""
    responses = {str(code): value for code, value in operation.get("responses", {}).items()}
    operation["responses"] = responses
    codes = ["422"] if "parameters" in operation or "requestBody" in operation else []
    if operation.get("security"):
        codes += ["401", "503"]  # every authenticated call reads the database
    for code in codes:
        responses.setdefault(code, {"description": KINDS[_STATUS_SLUGS[int(code)]].title})
    for code, response in responses.items():
        if code.isdigit() and int(code) >= 400:
            response["content"] = {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
            response.setdefault("description", "problem")
        if code == "304":
            response.pop("content", None)
            response["description"] = "not modified: If-None-Match matched the ETag"


def _problem_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:  # raised outside ninja's handlers, e.g. by its API root view
            return problem_response("not-found", f"no API route {request.path}", request=request)
        return as_problem(request, response)

    return wrapped


@csrf_exempt
def _unknown_route(request: HttpRequest) -> HttpResponse:
    return problem_response("not-found", f"no API route {request.path}", request=request)


api = ProblemAPI(
    title="Patch review console: agent API",
    version="1",
    urls_namespace="api-v1",
    description="Signed behaviour patches from agents. Errors are RFC 9457 problem details; "
    "see docs/api.md for the problem types.",
    # Without deep links an operation's summary is one button, not a link nested in a button
    # (axe: nested-interactive); templates/ninja/swagger.html adds lang and contrast fixes.
    docs=Swagger(settings={"deepLinking": False}),
)


@api.exception_handler(Problem)
def _on_problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return from_problem(request, exc)


@api.exception_handler(ValidationError)
def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors
    ]
    detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) or "invalid input"
    return problem_response("validation-error", detail, request=request, errors=errors)


@api.exception_handler(AuthenticationError)
def _on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(
        "unauthorized",
        "send 'Authorization: Bearer <agent token>' with a live token",
        request=request,
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


@api.exception_handler(HttpError)
def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    slug = _STATUS_SLUGS.get(exc.status_code, "bad-request")
    return problem_response(slug, str(exc), request=request)


@api.exception_handler(Http404)
def _on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(
        "not-found", str(exc) or f"no such resource: {request.path}", request=request
    )


# Seconds an agent should wait before retrying when the database is unreachable.
DATABASE_RETRY_AFTER_S = 5


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _on_database_unavailable(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    # The submit transaction rolled back, so nothing was stored and the nonce is still unused:
    # the agent can send the same signed envelope again.
    logger.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
    return problem_response(
        "service-unavailable",
        "the database is unavailable; nothing was stored, retry the same request later",
        request=request,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


@api.exception_handler(Exception)
def _on_exception(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("agent API error on %s %s", request.method, request.path)
    return problem_response(
        "internal-error", "the server failed; it has been logged", request=request
    )


@api.get("/ping", response=Ping, auth=None, tags=["health"], summary="Liveness, no auth")
def ping(request: HttpRequest) -> dict[str, bool]:
    return {"ok": True}


api.add_router("", proposals.router)
api.add_router("", targets.router)
api.add_router("", events.router)
api.add_router("", transparency_log.router)
