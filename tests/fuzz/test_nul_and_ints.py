"""NUL characters and out-of-range integers in every console form field and every API field
(query and path parameters, JSON body fields, the login form): always a 4xx, never a 5xx, and
nothing stored. PostgreSQL refuses NUL in text and integers past 64 bits, so these reach a
database error there unless the input is refused first; the suite runs on both backends.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.test import Client
from django.urls import URLPattern

import console.forms
from console.api import api as agent_api
from patches.models import Proposal, Target
from tests.factories import (
    ROUTING,
    AgentPersona,
    counts,
    make_agent,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

pytestmark = pytest.mark.django_db

NULS = ["\x00", "router\x00", "a\x00b"]
HUGE_INTS = [
    "99999999999999999999",
    str(2**63),
    str(2**64),
    "-99999999999999999999",
    str(-(2**63) - 1),
]
HOSTILE = NULS + HUGE_INTS
JSON_HUGE_INTS = [2**63, 2**64, 10**20, -(2**63) - 1]
PASSWORD = "correct horse battery"


class Site:
    """An admin in the console, an agent in the API, a target with a proposal to point at."""

    def __init__(self, persona: AgentPersona, target: Target, proposal: Proposal) -> None:
        self.persona = persona
        self.target = target
        self.proposal = proposal
        self.admin = Client(raise_request_exception=False)
        self.admin.force_login(make_reviewer("alice", admin=True))
        self.anonymous = Client(raise_request_exception=False)
        self.agent = Client(raise_request_exception=False)


@pytest.fixture
def site(settings: Any) -> Site:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    persona = make_agent("agent-smith")
    target = make_target(name="router", patch_type="Routing", content=ROUTING)
    envelope = signed_envelope(persona, proposal_body(target=target, patch=threshold_patch()))
    response = Client().post(
        "/api/v1/proposals", data=envelope, content_type="application/json", **persona.auth
    )
    assert response.status_code == 201, response.content
    return Site(persona, target, Proposal.objects.get())


def assert_refused(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, (
        f"{what}: {response.status_code} {response.content[:300]!r}"
    )


def assert_not_failed(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:300]!r}"


# --- The console ---------------------------------------------------------------------------

# Every console form's fields, by the page that reads them (GET) or posts them (POST), with
# the other fields of the request filled in so that only the hostile one is wrong. A review
# posted here names a patch_hash that is not the proposal's, so none is ever recorded.
WRONG_HASH = "sha256:" + "0" * 64
FORM_PAGES: dict[type[forms.Form], tuple[str, str, dict[str, str]]] = {
    console.forms.InboxFilterForm: ("GET", "/", {}),
    console.forms.EventFilterForm: ("GET", "/events/", {}),
    console.forms.DecisionForm: (
        "POST",
        "/proposals/{proposal}/",
        {
            "reason": "fine",
            "decision": "approve",
            "patch_hash": WRONG_HASH,
            "base_content_hash": WRONG_HASH,
        },
    ),
}
# Query parameters the console's pages read besides their forms' fields.
QUERY_PARAMETERS = {
    "/": ["page"],
    "/events/": ["page", "verify"],
    "/proposals/{proposal}/": ["mode", "diff_offset", "full"],
    "/targets/router/compare/": ["from", "to", "mode"],
    "/targets/router/compare/1..1/": ["mode", "diff_offset", "full"],
    "/accounts/login/": ["next"],
}


def test_every_console_form_is_fuzzed():
    declared = {
        value
        for value in vars(console.forms).values()
        if isinstance(value, type) and issubclass(value, forms.Form) and value is not forms.Form
    }
    assert declared == set(FORM_PAGES), "add the new form's page to FORM_PAGES"


@pytest.mark.parametrize("form", list(FORM_PAGES), ids=lambda form: form.__name__)
def test_hostile_values_in_console_form_fields_are_refused_or_ignored(site, form):
    method, url, valid = FORM_PAGES[form]
    url = url.format(proposal=site.proposal.pk)
    before = counts()
    for field in form.base_fields:
        for value in HOSTILE:
            data = {**valid, field: value}
            call = site.admin.get if method == "GET" else site.admin.post
            response = call(url, data)
            assert_not_failed(response, f"{method} {url} {field}={value!r}")
            if method == "POST":
                assert_refused(response, f"{method} {url} {field}={value!r}")
    assert counts() == before


@pytest.mark.parametrize("url", list(QUERY_PARAMETERS))
def test_hostile_values_in_console_query_parameters_never_fail_the_page(site, url):
    page = url.format(proposal=site.proposal.pk)
    client = site.anonymous if url.startswith("/accounts/") else site.admin
    for parameter in QUERY_PARAMETERS[url]:
        for value in HOSTILE:
            response = client.get(page, {parameter: value}, follow=True)
            assert_not_failed(response, f"GET {page}?{parameter}={value!r}")


def _console_patterns() -> list[tuple[str, URLPattern]]:
    from console import web_urls

    return [(str(p.pattern), p) for p in web_urls.urlpatterns if isinstance(p, URLPattern)]


# A valid value for each path parameter of the console's URLs, used when another one is fuzzed.
CONSOLE_PATH_VALUES = {
    "proposal_id": "{proposal}",
    "name": "router",
    "old": "1",
    "new": "1",
    "version": "1",
    "key_id": "0" * 64,
    "request_id": "1",
    "review_id": "1",
    "subscription_id": "1",
}


def _console_url(route: str, fuzzed: str, value: str, proposal: int) -> str:
    url = "/" + route
    for name, default in CONSOLE_PATH_VALUES.items():
        for converter in ("int", "slug", "str"):
            chosen = value if name == fuzzed else default.format(proposal=proposal)
            url = url.replace(f"<{converter}:{name}>", quote(chosen, safe=""))
    assert "<" not in url, f"add the path parameter of {route!r} to CONSOLE_PATH_VALUES"
    return url


@pytest.mark.parametrize(("route", "pattern"), _console_patterns(), ids=lambda v: str(v))
def test_hostile_values_in_console_path_parameters_are_refused(site, route, pattern):
    names = re.findall(r"<(?:\w+:)?(\w+)>", route)
    posts = pattern.name in (
        "target-revert", "agent-key-revoke", "agent-token-rotate", "label-create", "label-move",
        "label-approve", "label-withdraw",
    )  # fmt: skip
    before = counts()
    for name in names:
        for value in HOSTILE:
            url = _console_url(route, name, value, site.proposal.pk)
            response = site.admin.post(url) if posts else site.admin.get(url)
            assert_refused(response, f"{url} ({name}={value!r})")
    assert counts() == before


def test_hostile_values_in_the_login_form_are_refused(site):
    fields = list(AuthenticationForm.base_fields)
    assert fields == ["username", "password"]
    for field in fields:
        for value in HOSTILE:
            data = {"username": "alice", "password": PASSWORD, field: value}
            if field == "password" and value in HUGE_INTS:
                data["password"] = value  # a wrong password: the form refuses it, 200
            response = site.anonymous.post("/accounts/login/", data)
            assert_not_failed(response, f"login {field}={value!r}")
            assert "_auth_user_id" not in site.anonymous.session


# --- The agent API -------------------------------------------------------------------------

# A valid value for each path parameter of the API, used when another one is fuzzed.
API_PATH_VALUES = {"proposal_id": "{proposal}", "name": "router", "version": "1", "seq": "1"}


def _api_operations() -> list[tuple[str, str, list[dict[str, Any]]]]:
    schema = agent_api.get_openapi_schema()
    return [
        (method, path, operation.get("parameters", []))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


FREE_TEXT_PARAMETERS = frozenset({"instance"})


def _api_url(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    assert "{" not in path, f"add the path parameter of {path!r} to API_PATH_VALUES"
    return path


@pytest.mark.parametrize(
    ("method", "path", "parameters"), _api_operations(), ids=lambda v: str(v)[:60]
)
def test_hostile_values_in_api_parameters_are_refused(site, method, path, parameters):
    defaults = {
        name: value.format(proposal=site.proposal.pk) for name, value in API_PATH_VALUES.items()
    }
    before = counts()
    for parameter in parameters:
        # An instance is any name an agent gives, "99999999999999999999" included: only a NUL
        # is hostile there.
        hostile = NULS if parameter["name"] in FREE_TEXT_PARAMETERS else HOSTILE
        for value in hostile:
            where = parameter["in"]
            url = _api_url(
                path, {**defaults, parameter["name"]: value} if where == "path" else defaults
            )
            query = {parameter["name"]: value} if where == "query" else {}
            for auth in (site.persona.auth, {"HTTP_AUTHORIZATION": "Bearer pat_\x00" + "A" * 40}):
                if method == "get":
                    response = site.agent.get(url, query, **auth)
                else:
                    response = site.agent.post(
                        url + "?" + "&".join(f"{k}={quote(v)}" for k, v in query.items()), **auth
                    )
                what = f"{method.upper()} {url} {parameter['name']}={value!r}"
                assert_refused(response, what)
                assert response["Content-Type"].startswith("application/problem+json"), what
    assert counts() == before


@pytest.mark.parametrize(
    "token", ["pat_\x00", "\x00", "pat_" + "A" * 20 + "\x00" + "A" * 22, "pat_%00"]
)
def test_a_bad_token_with_a_nul_is_refused_with_401_on_every_operation(site, token):
    defaults = {k: v.format(proposal=site.proposal.pk) for k, v in API_PATH_VALUES.items()}
    for method, path, _ in _api_operations():
        url = _api_url(path, defaults)
        call = site.agent.get if method == "get" else site.agent.post
        response = call(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        # Public: they read no token (the transparency log is for anyone to check).
        public = ("/api/v1/ping", "/api/v1/openapi.json", "/api/v1/log/checkpoint")
        if path in (*public, "/api/v1/log/consistency"):
            assert_not_failed(response, f"{method} {url}")
            continue
        assert response.status_code == 401, f"{method} {url}: {response.status_code}"


def _hostile_envelopes(site: Site) -> list[tuple[str, dict[str, Any]]]:
    """(what, envelope) for every JSON body field: NUL in each string, huge base_version,
    NUL test names; each proposal re-signed, so the hostile value gets past the signature."""
    proposal = proposal_body(target=site.target, patch=threshold_patch(3.0))
    cases: list[tuple[str, dict[str, Any]]] = []
    for key, value in proposal.items():
        hostile: list[Any]
        if isinstance(value, str):
            hostile = [value + "\x00", "\x00" + value, "\x00"]
        elif isinstance(value, list):
            hostile = [["\x00"], ["prompt\x00placeholders"]]
        else:
            hostile = [*JSON_HUGE_INTS, "\x00"]
        for bad in hostile:
            changed = {**proposal, key: bad}
            if not isinstance(bad, int) or abs(bad) < 2**53:  # else no canonical form to sign
                signed = signed_envelope(site.persona, changed)
                cases.append((f"proposal.{key}={bad!r} (signed)", signed))
            unsigned = signed_envelope(site.persona, proposal)
            unsigned["proposal"] = changed
            cases.append((f"proposal.{key}={bad!r} (signature does not match)", unsigned))
    signed = signed_envelope(site.persona, proposal)
    for key, value in signed["signature"].items():
        for bad in (value + "\x00", "\x00"):
            envelope = json.loads(json.dumps(signed))
            envelope["signature"][key] = bad
            cases.append((f"signature.{key}={bad!r}", envelope))
    cases.append(("a NUL key in the proposal", {**signed, "proposal": {**proposal, "\x00": 1}}))
    cases.append(("a NUL top-level key", {**signed, "\x00": 1}))
    return cases


def test_hostile_values_in_json_body_fields_are_refused_with_a_problem(site):
    before = counts()
    good, bad = site.persona.auth, {"HTTP_AUTHORIZATION": "Bearer pat_\x00bad"}
    for what, envelope in _hostile_envelopes(site):
        for auth in (good, bad):
            response = site.agent.post(
                "/api/v1/proposals",
                data=json.dumps(envelope),
                content_type="application/json",
                **auth,
            )
            assert_refused(response, what)
            assert response["Content-Type"].startswith("application/problem+json"), what
            if auth is bad:
                assert response.status_code == 401, what
            else:
                assert response.json()["detail"], what
    assert counts() == before


@pytest.mark.parametrize("field", ["target", "reasoning", "test_requirements"])
def test_a_nul_in_a_signed_proposal_field_is_refused_with_422_naming_the_field(site, field):
    proposal = proposal_body(target=site.target, patch=threshold_patch(3.0))
    proposal[field] = ["has\x00nul"] if field == "test_requirements" else "has\x00nul"
    response = site.agent.post(
        "/api/v1/proposals",
        data=json.dumps(signed_envelope(site.persona, proposal)),
        content_type="application/json",
        **site.persona.auth,
    )
    assert response.status_code == 422, response.content
    assert f"proposal.{field}" in response.json()["detail"]
    assert "NUL" in response.json()["detail"]


def test_events_page_with_a_proposal_number_past_64_bits_is_a_400_not_a_500(site):
    response = site.admin.get("/events/", {"proposal": "99999999999999999999"})
    assert response.status_code == 400
    assert re.search(
        r'<input[^>]*name="proposal"[^>]*aria-invalid="true"', response.content.decode()
    )
