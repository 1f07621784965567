"""Schemathesis against /api/v1/openapi.json: no 5xx, no response that contradicts the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from audit.checkpoints import checkpoint_sign
from tests.factories import (
    ROUTING,
    make_agent,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def _keep_test_connection():  # type: ignore[no-untyped-def]
    # Requested after `token`: django.test.Client reconnects these receivers after each call.
    # The WSGI handler closes the DB connection after each request, which would end the test's
    # transaction; django.test.Client disconnects the same receivers for the same reason.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(db: None) -> str:
    persona = make_agent("fuzzer")
    target = make_target(name="router", patch_type="Routing", content=ROUTING)
    make_target()  # a Prompt target as well
    from django.test import Client

    envelope = signed_envelope(persona, proposal_body(target=target, patch=threshold_patch()))
    response = Client().post(
        "/api/v1/proposals", data=envelope, content_type="application/json", **persona.auth
    )
    assert response.status_code == 201
    checkpoint_sign()  # so the transparency log calls have a checkpoint and proofs to serve
    return persona.token


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_keeps_its_openapi_contract(case, token, _keep_test_connection):
    # Generated cases carry a random bearer token: swap in a live one. A negative case that
    # dropped the header on purpose is sent without it (and must get 401).
    if case.headers and "Authorization" in case.headers:
        case.headers["Authorization"] = f"Bearer {token}"
    response = case.call()
    assert response.status_code < 500, response.text
    case.validate_response(response)
