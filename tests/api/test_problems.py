"""Every error under /api/v1 is an RFC 9457 problem; the docs and schema are served locally."""

from __future__ import annotations

import re

from django.contrib.staticfiles import finders
from django.test import Client

from tests.api.conftest import assert_problem


def test_an_unknown_route_is_a_problem_404(api):
    assert_problem(api.get("/nothing/here"), 404, "not-found")
    assert_problem(
        Client().post("/api/v1/nothing", data="{}", content_type="application/json"),
        404,
        "not-found",
    )
    assert_problem(api.get("/proposals/"), 404, "not-found")
    assert_problem(api.get("/"), 404, "not-found")


def test_a_wrong_method_is_a_problem_405_with_allow(api):
    response = api.client.delete("/api/v1/proposals", **api.persona.auth)
    assert_problem(response, 405, "method-not-allowed")
    assert "POST" in response["Allow"] and "GET" in response["Allow"]


def test_a_bad_path_parameter_is_a_problem_422(api):
    body = assert_problem(api.get("/proposals/abc"), 422, "validation-error")
    assert body["errors"][0]["loc"] == ["path", "proposal_id"]
    assert_problem(api.get(f"/proposals/{2**64}"), 422, "validation-error")


def test_a_malformed_authorization_header_is_a_problem_401(api):
    for header in ("Bearer", "Basic abc", "Bearer " + "x" * 1000, "Bearer pat_\u00e9"):
        response = Client().get("/api/v1/targets", HTTP_AUTHORIZATION=header)
        assert_problem(response, 401, "unauthorized")


def test_ping_needs_no_token():
    response = Client().get("/api/v1/ping")
    assert response.status_code == 200 and response.json() == {"ok": True}


def test_the_openapi_document_declares_problem_responses():
    schema = Client().get("/api/v1/openapi.json").json()
    submit = schema["paths"]["/api/v1/proposals"]["post"]
    for code in ("400", "401", "403", "404", "409", "413", "422", "429"):
        assert "application/problem+json" in submit["responses"][code]["content"], code
    assert "Problem" in schema["components"]["schemas"]
    assert submit["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "proposal",
        "signature",
    ]


def test_the_docs_page_loads_only_local_scripts_under_the_csp():
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Content-Security-Policy" in response
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    sources = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)
    assert sources and all(src.startswith("/static/") for src in sources)
    assert "cdn" not in html.lower() and "https://" not in html
    # Inline script blocks are data only (type=application/json), which CSP does not run.
    for attrs in re.findall(r"<script([^>]*)>", html):
        assert "src=" in attrs or "application/json" in attrs
    for src in sources:  # served by whitenoise from collectstatic; here: the finders know them
        assert finders.find(src.removeprefix("/static/")), src
