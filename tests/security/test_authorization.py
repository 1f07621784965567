"""Authorization matrix: every role x every URL pattern x objects of another owner.

The table below must name every URL pattern Django resolves (test_every_url_pattern_is_in_
the_matrix fails on a new one), and every role's attempt on a row it is not allowed must fail:
no 2xx page, no redirect other than to a login page, and no change in the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import Review
from audit.reviews import review_record
from patches.models import AgentKey, AgentToken, Event, Proposal, Target, TargetVersion
from tests.factories import (
    ROUTING,
    AgentPersona,
    make_agent,
    make_reviewer,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

ROLES = ("anonymous", "agent", "reviewer", "owner", "admin")
PUBLIC = frozenset(ROLES)
PEOPLE = frozenset({"reviewer", "owner", "admin"})  # anyone with a console role and a session
ADMIN_ONLY = frozenset({"admin"})
NOBODY: frozenset[str] = frozenset()


@dataclass
class World:
    """Objects, each owned by someone other than the role that attacks them."""

    smith: AgentPersona  # owns the proposals; the "agent" role is jones
    jones: AgentPersona
    open_target: Target  # no owners: the reviewers group reviews it
    owned_target: Target  # owned by olga, who is none of the roles
    oscar_target: Target  # owned by oscar (the "owner" role)
    open_proposal: Proposal  # in review, on open_target
    owned_proposal: Proposal  # in review, on owned_target
    users: dict[str, User]


def _submit(
    client: Client, persona: AgentPersona, target: Target, value: float, capture: Any
) -> Proposal:
    envelope = signed_envelope(persona, proposal_body(target=target, patch=threshold_patch(value)))
    with capture(execute=True):
        response = client.post(
            "/api/v1/proposals",
            data=json.dumps(envelope),
            content_type="application/json",
            **persona.auth,
        )
    assert response.status_code == 201, response.content
    return Proposal.objects.get(pk=response.json()["id"])


@pytest.fixture
def world(db: None, django_capture_on_commit_callbacks: Any) -> World:
    smith, jones = make_agent("agent-smith"), make_agent("agent-jones")
    open_target = make_target(name="open-router", patch_type="Routing", content=ROUTING)
    owned_target = make_target(name="olgas-router", patch_type="Routing", content=ROUTING)
    oscar_target = make_target(name="oscars-router", patch_type="Routing", content=ROUTING)
    reviewer = make_reviewer("rita")
    admin = make_reviewer("alice", admin=True)
    olga = User.objects.create_user(username="olga", password="correct horse battery")
    oscar = User.objects.create_user(username="oscar", password="correct horse battery")
    owned_target.owners.add(olga)
    oscar_target.owners.add(oscar)
    client = Client()
    # Version 2 of the open target exists (so a revert can be asked for), then one more
    # proposal in review on each of the two targets.
    applied = _submit(client, smith, open_target, 3.0, django_capture_on_commit_callbacks)
    review_record(
        proposal=applied,
        reviewer=reviewer,
        decision="approve",
        reason="fine",
        patch_hash=applied.patch_hash,
        base_content_hash=applied.base_content_hash,
    )
    open_target.refresh_from_db()
    assert open_target.version == 2
    open_proposal = _submit(client, smith, open_target, 4.0, django_capture_on_commit_callbacks)
    owned_proposal = _submit(client, smith, owned_target, 5.0, django_capture_on_commit_callbacks)
    assert open_proposal.status == owned_proposal.status == "in_review"
    users = {"reviewer": reviewer, "owner": oscar, "admin": admin}
    return World(
        smith, jones, open_target, owned_target, oscar_target, open_proposal, owned_proposal, users
    )


@dataclass(frozen=True)
class Call:
    method: str
    path: Callable[[World], str]
    allowed: frozenset[str]
    data: Callable[[World], Any] | None = None
    api: bool = False  # an agent API call: the agent role sends its bearer token


def _decision(w: World, proposal: Proposal) -> dict[str, str]:
    return {
        "decision": "approve",
        "reason": "attack",
        "patch_hash": proposal.patch_hash,
        "base_content_hash": proposal.base_content_hash,
    }


def _envelope(w: World) -> str:
    # jones signs correctly, for a target he may propose to: only the agent role may do this.
    return json.dumps(
        signed_envelope(w.jones, proposal_body(target=w.open_target, patch=threshold_patch(9.0)))
    )


def _const(path: str) -> Callable[[World], str]:
    return lambda w: path


# pattern (as Django writes it) → the calls that exercise it.
MATRIX: dict[str, list[Call]] = {
    "accounts/login/": [Call("GET", _const("/accounts/login/"), PUBLIC)],
    "accounts/logout/": [Call("POST", _const("/accounts/logout/"), PUBLIC)],
    "accounts/password_change/": [
        Call("GET", _const("/accounts/password_change/"), PEOPLE),
        Call(
            "POST",
            _const("/accounts/password_change/"),
            PEOPLE,
            data=lambda w: {"old_password": "x"},
        ),
    ],
    "accounts/password_change/done/": [
        Call("GET", _const("/accounts/password_change/done/"), PEOPLE)
    ],
    "accounts/password_reset/": [Call("GET", _const("/accounts/password_reset/"), PUBLIC)],
    "accounts/password_reset/done/": [
        Call("GET", _const("/accounts/password_reset/done/"), PUBLIC)
    ],
    # An invalid link renders "this link is invalid" to anyone: public, and harmless.
    "accounts/reset/<uidb64>/<token>/": [
        Call("GET", _const("/accounts/reset/MQ/set-password/"), PUBLIC)
    ],
    "accounts/reset/done/": [Call("GET", _const("/accounts/reset/done/"), PUBLIC)],
    "healthz": [Call("GET", _const("/healthz"), PUBLIC)],
    "api/v1/openapi.json": [Call("GET", _const("/api/v1/openapi.json"), PUBLIC)],
    "api/v1/docs": [Call("GET", _const("/api/v1/docs"), PUBLIC)],
    "api/v1/ping": [Call("GET", _const("/api/v1/ping"), PUBLIC)],
    "api/v1/": [Call("GET", _const("/api/v1/"), NOBODY)],  # ninja's root: 404 problem
    "api/v1/^.*$": [Call("GET", _const("/api/v1/nothing/here"), NOBODY, api=True)],
    "api/v1/proposals": [
        Call("POST", _const("/api/v1/proposals"), frozenset({"agent"}), data=_envelope, api=True),
        Call("GET", _const("/api/v1/proposals"), frozenset({"agent"}), api=True),
    ],
    # Another agent's proposal: the same 404 as a missing one, for everybody.
    "api/v1/proposals/<proposal_id>": [
        Call("GET", lambda w: f"/api/v1/proposals/{w.open_proposal.pk}", NOBODY, api=True)
    ],
    "api/v1/proposals/<proposal_id>/rebase": [
        Call("GET", lambda w: f"/api/v1/proposals/{w.open_proposal.pk}/rebase", NOBODY, api=True)
    ],
    "api/v1/proposals/<proposal_id>/withdraw": [
        Call("POST", lambda w: f"/api/v1/proposals/{w.open_proposal.pk}/withdraw", NOBODY, api=True)
    ],
    "api/v1/targets": [Call("GET", _const("/api/v1/targets"), frozenset({"agent"}), api=True)],
    "api/v1/targets/<name>": [
        Call(
            "GET",
            lambda w: f"/api/v1/targets/{w.owned_target.name}",
            frozenset({"agent"}),
            api=True,
        )
    ],
    "api/v1/targets/<name>/versions/<version>": [
        Call(
            "GET",
            lambda w: f"/api/v1/targets/{w.open_target.name}/versions/1",
            frozenset({"agent"}),
            api=True,
        )
    ],
    "api/v1/events": [
        Call("GET", _const("/api/v1/events?after=0&limit=5"), frozenset({"agent"}), api=True)
    ],
    "": [Call("GET", _const("/"), PEOPLE)],
    "proposals/<int:proposal_id>/": [
        Call(
            "GET", lambda w: f"/proposals/{w.open_proposal.pk}/", frozenset({"reviewer", "admin"})
        ),
        Call("GET", lambda w: f"/proposals/{w.owned_proposal.pk}/", ADMIN_ONLY),
        Call(
            "POST",
            lambda w: f"/proposals/{w.open_proposal.pk}/",
            frozenset({"reviewer", "admin"}),
            data=lambda w: _decision(w, w.open_proposal),
        ),
        Call(
            "POST",
            lambda w: f"/proposals/{w.owned_proposal.pk}/",
            ADMIN_ONLY,
            data=lambda w: _decision(w, w.owned_proposal),
        ),
    ],
    "proposals/<int:proposal_id>/interdiff/": [
        Call(
            "GET",
            lambda w: f"/proposals/{w.open_proposal.pk}/interdiff/",
            frozenset({"reviewer", "admin"}),
        ),
        Call("GET", lambda w: f"/proposals/{w.owned_proposal.pk}/interdiff/", ADMIN_ONLY),
    ],
    "proposals/<int:proposal_id>/interdiff/<int:old>..<int:new>/": [
        Call(
            "GET",
            lambda w: f"/proposals/{w.open_proposal.pk}/interdiff/1..1/",
            frozenset({"reviewer", "admin"}),
        ),
        Call("GET", lambda w: f"/proposals/{w.owned_proposal.pk}/interdiff/1..1/", ADMIN_ONLY),
    ],
    # Admins only; a reviewer's request on the open proposal stays standing for everyone else.
    "proposals/<int:proposal_id>/requests/<int:review_id>/withdraw/": [
        Call(
            "POST",
            lambda w: f"/proposals/{w.open_proposal.pk}/requests/1/withdraw/",
            ADMIN_ONLY,
            data=lambda w: {"reason": "Withdrawn."},
        )
    ],
    "proposals/<int:proposal_id>/gate/": [
        Call(
            "GET",
            lambda w: f"/proposals/{w.open_proposal.pk}/gate/",
            frozenset({"reviewer", "admin"}),
        ),
        Call("GET", lambda w: f"/proposals/{w.owned_proposal.pk}/gate/", ADMIN_ONLY),
    ],
    "targets/": [Call("GET", _const("/targets/"), PEOPLE)],
    "targets/<slug:name>/": [
        Call("GET", lambda w: f"/targets/{w.open_target.name}/", frozenset({"reviewer", "admin"})),
        Call("GET", lambda w: f"/targets/{w.owned_target.name}/", ADMIN_ONLY),
    ],
    "targets/<slug:name>/compare/": [
        Call("GET", lambda w: f"/targets/{w.owned_target.name}/compare/", ADMIN_ONLY)
    ],
    "targets/<slug:name>/compare/<int:old>..<int:new>/": [
        Call(
            "GET",
            lambda w: f"/targets/{w.open_target.name}/compare/1..2/",
            frozenset({"reviewer", "admin"}),
        ),
        Call("GET", lambda w: f"/targets/{w.owned_target.name}/compare/1..1/", ADMIN_ONLY),
    ],
    "targets/<slug:name>/versions/<int:version>/revert/": [
        Call(
            "POST",
            lambda w: f"/targets/{w.open_target.name}/versions/2/revert/",
            frozenset({"reviewer", "admin"}),
        ),
    ],
    "events/": [Call("GET", _const("/events/"), PEOPLE)],
    "agents/": [Call("GET", _const("/agents/"), ADMIN_ONLY)],
    "agents/keys/<str:key_id>/revoke/": [
        Call("POST", lambda w: f"/agents/keys/{w.smith.key_id}/revoke/", ADMIN_ONLY)
    ],
    "agents/<slug:name>/token/": [
        Call("POST", lambda w: f"/agents/{w.smith.agent.name}/token/", ADMIN_ONLY)
    ],
}
ADMIN_PREFIX = "admin/"  # every Django admin pattern: staff only (see _admin_calls)


def url_patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _admin_path(pattern: str, w: World) -> str:
    path = "/" + pattern
    path = path.replace("^(?P<app_label>", "").replace(")/$", "/")
    if "(?P<app_label>" in pattern:
        path = "/admin/" + pattern.split("(?P<app_label>")[1].split("|")[0] + "/"
    path = path.replace("(?P<url>.*)$", "no-such-page/")
    path = path.replace("<path:content_type_id>/<path:object_id>/", "1/1/")
    path = re.sub(r"<id>|<path:object_id>", str(w.users["reviewer"].pk), path)
    return path


def _admin_calls() -> list[tuple[str, Call]]:
    calls = []
    for pattern in sorted(set(url_patterns())):
        if not pattern.startswith(ADMIN_PREFIX) or pattern in ("admin/login/", "admin/logout/"):
            continue
        path = lambda w, p=pattern: _admin_path(p, w)  # noqa: E731
        calls.append((pattern, Call("GET", path, ADMIN_ONLY)))
        if pattern.endswith(("add/", "delete/", "change/", "password/")):
            calls.append((pattern, Call("POST", path, ADMIN_ONLY, data=lambda w: {"post": "yes"})))
    return calls


def test_every_url_pattern_is_in_the_matrix():
    missing = sorted(
        pattern
        for pattern in set(url_patterns())
        if pattern not in MATRIX and not pattern.startswith(ADMIN_PREFIX)
    )
    assert not missing, f"URL patterns without a row in the authorization matrix: {missing}"
    stale = sorted(set(MATRIX) - set(url_patterns()))
    assert not stale, f"matrix rows for patterns that no longer exist: {stale}"


def _state() -> tuple[Any, ...]:
    """Everything an unauthorized request could change."""
    return (
        Event.objects.count(),
        Review.objects.count(),
        Proposal.objects.count(),
        tuple(Proposal.objects.order_by("pk").values_list("status", flat=True)),
        TargetVersion.objects.count(),
        AgentKey.objects.filter(revoked_at__isnull=False).count(),
        tuple(AgentToken.objects.order_by("pk").values_list("token_hash", "revoked_at")),
        User.objects.count(),
        tuple(User.objects.order_by("pk").values_list("password", "is_staff", "is_superuser")),
    )


def _client_for(role: str, w: World) -> Client:
    client = Client()
    if role in w.users:
        client.force_login(w.users[role])
    return client


def _succeeded(response: Any) -> bool:
    if 200 <= response.status_code < 300:
        return True
    if 300 <= response.status_code < 400:
        location = response.get("Location", "")
        return "/login/" not in location
    return False


def _send(client: Client, call: Call, role: str, w: World) -> Any:
    headers = w.jones.auth if role == "agent" else {}
    path = call.path(w)
    if call.method == "GET":
        return client.get(path, **headers)
    data = call.data(w) if call.data else {}
    if isinstance(data, str):
        return client.post(path, data=data, content_type="application/json", **headers)
    return client.post(path, data=data, **headers)


def _all_calls() -> list[tuple[str, Call]]:
    return [(pattern, call) for pattern, calls in MATRIX.items() for call in calls] + _admin_calls()


@pytest.mark.parametrize("role", ROLES)
def test_no_role_succeeds_where_it_is_not_allowed(world, role):
    breaches, refused_allowed = [], []
    for pattern, call in _all_calls():
        if role == "admin" and pattern.startswith(ADMIN_PREFIX):
            continue  # Django admin is the admin's own tool; what it allows is its own tests' job
        with transaction.atomic():
            client = _client_for(role, world)
            before = _state()
            response = _send(client, call, role, world)
            changed = _state() != before
            allowed = role in call.allowed
            if not allowed and (changed or (call.method == "GET" and _succeeded(response))):
                breaches.append(
                    f"{call.method} {call.path(world)} [{pattern}] → {response.status_code}, changed={changed}"
                )
            if response.status_code >= 500:
                breaches.append(f"{call.method} {call.path(world)} → {response.status_code}")
            if allowed and call.method == "GET" and not _succeeded(response):
                refused_allowed.append(f"GET {call.path(world)} → {response.status_code}")
            transaction.set_rollback(True)
    assert not breaches, f"{role}: unauthorized successes:\n" + "\n".join(breaches)
    assert not refused_allowed, f"{role}: refused where allowed:\n" + "\n".join(refused_allowed)


def test_an_agent_token_opens_no_console_page(world):
    """Bearer tokens authenticate agents to the API only, never to a session."""
    client = Client()
    for path in ("/", "/events/", "/targets/", f"/proposals/{world.open_proposal.pk}/", "/admin/"):
        response = client.get(path, **world.smith.auth)
        assert not _succeeded(response), path


def test_the_owner_of_a_proposal_sees_it_and_no_other_agent_does(world):
    client = Client()
    path = f"/api/v1/proposals/{world.open_proposal.pk}"
    assert client.get(path, **world.smith.auth).status_code == 200
    assert client.get(path, **world.jones.auth).status_code == 404
    missing = client.get("/api/v1/proposals/999999", **world.jones.auth)
    assert missing.status_code == 404
    assert missing.json()["type"] == client.get(path, **world.jones.auth).json()["type"]
    listed = client.get("/api/v1/proposals", **world.jones.auth).json()
    assert listed == []
