"""Schemathesis over every operation of the OpenAPI document, with a live token and without one.

tests/api/test_openapi_conformance.py checks responses against the schema; this one checks the
security side of the same generated cases: no 5xx either way, and a request without a valid
token never succeeds on an authenticated operation nor changes the database.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from tests.factories import (
    ROUTING,
    counts,
    make_agent,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
EXAMPLES_PER_OPERATION = 20


@pytest.fixture
def token(db: None) -> str:
    persona = make_agent("fuzzer")
    target = make_target(name="router", patch_type="Routing", content=ROUTING)
    make_target()
    from django.test import Client

    envelope = signed_envelope(persona, proposal_body(target=target, patch=threshold_patch()))
    response = Client().post(
        "/api/v1/proposals", data=envelope, content_type="application/json", **persona.auth
    )
    assert response.status_code == 201
    return persona.token


@pytest.fixture
def _keep_test_connection(token: str):  # type: ignore[no-untyped-def]
    # The WSGI handler would close the test's connection (and its transaction) per request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _is_authenticated(case) -> bool:  # type: ignore[no-untyped-def]
    return bool(case.operation.definition.raw.get("security"))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_fails_the_server_or_passes_without_a_token(
    case, token, _keep_test_connection
):
    case.headers = dict(case.headers or {})
    case.headers["Authorization"] = f"Bearer {token}"
    response = case.call()
    assert response.status_code < 500, response.text

    before = counts()
    for credentials in (
        None,
        "Bearer pat_" + "A" * 43,
        "Basic Zm9vOmJhcg==",
        "Bearer " + token + "x",
    ):
        if credentials is None:
            case.headers.pop("Authorization", None)
        else:
            case.headers["Authorization"] = credentials
        response = case.call()
        assert response.status_code < 500, response.text
        if _is_authenticated(case):
            assert response.status_code >= 400, f"{credentials!r}: {response.status_code}"
    assert counts() == before
