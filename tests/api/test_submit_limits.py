"""POST /api/v1/proposals under attack: a JSON Patch copy bomb inside the body limit, and the
cheap refusals that must come before any patch work."""

from __future__ import annotations

import json

import patches.submit
from patches.models import Proposal
from tests.api.conftest import assert_problem
from tests.factories import counts, make_target, proposal_body, signed_envelope


def copy_bomb(size: int = 900_000, copies: int = 1_000) -> str:
    """One `add` of a big string, then `copy` of it over and over: a 900 kB string copied
    1,000 times is a 900 MB document from a body under 1 MiB."""
    operations = [{"op": "add", "path": "/s", "value": "x" * size}]
    operations += [{"op": "copy", "from": "/s", "path": f"/c{n}"} for n in range(copies)]
    return json.dumps(operations, separators=(",", ":"))


def test_a_copy_bomb_under_the_body_limit_is_refused_with_422_naming_the_limit(
    api, agent, settings
):
    # A Config target without a schema takes any object: nothing but the limits stops it.
    config = make_target(name="settings", patch_type="Config", content={"name": "config"})
    envelope = signed_envelope(agent, proposal_body(target=config, patch=copy_bomb()))
    assert len(json.dumps(envelope)) < settings.API_MAX_BODY_BYTES
    before = counts()
    body = assert_problem(api.submit(envelope), 422, "patch-does-not-apply")
    assert str(settings.MAX_TARGET_CONTENT_BYTES) in body["detail"]
    assert "MAX_TARGET_CONTENT_BYTES" in body["detail"]
    assert counts() == before


def test_patched_content_over_the_configured_limit_is_refused_with_422(
    api, good_envelope, settings
):
    settings.MAX_TARGET_CONTENT_BYTES = 2_048
    patch = json.dumps([{"op": "add", "path": "/description", "value": "n" * 3_000}])
    before = counts()
    body = assert_problem(api.submit(good_envelope(patch=patch)), 422, "patch-does-not-apply")
    assert "2048 bytes" in body["detail"]
    assert counts() == before
    small = json.dumps([{"op": "add", "path": "/description", "value": "n" * 100}])
    assert api.submit(good_envelope(patch=small)).status_code == 201


def test_a_text_patch_over_the_content_limit_is_refused_with_422(api, agent, settings):
    settings.MAX_TARGET_CONTENT_BYTES = 2_048
    target = make_target()
    base = target.versions.get().content
    first = base.splitlines(keepends=True)[0]
    patch = f"--- a\n+++ b\n@@ -1,1 +1,2 @@\n {first}+{'w' * 3_000}\n"
    before = counts()
    response = api.submit(signed_envelope(agent, proposal_body(target=target, patch=patch)))
    body = assert_problem(response, 422, "patch-does-not-apply")
    assert "2048 bytes" in body["detail"]
    assert counts() == before


def test_an_agent_at_its_open_limit_is_refused_with_429_before_its_patch_is_checked(
    api, good_envelope, settings, monkeypatch
):
    settings.API_MAX_PENDING_PER_AGENT = 1
    assert api.submit(good_envelope()).status_code == 201
    before = counts()

    def refuse(**kwargs):
        raise AssertionError("the patch was checked before the open-proposal limit")

    monkeypatch.setattr(patches.submit, "target_patch_check", refuse)
    response = api.submit(good_envelope(patch=copy_bomb()))
    assert_problem(response, 429, "too-many-pending")
    assert int(response["Retry-After"]) > 0
    assert counts() == before
    assert Proposal.objects.count() == 1


def test_a_copy_bomb_with_a_bad_token_is_refused_with_401(api, good_envelope, agent):
    before = counts()
    response = api.client.post(
        "/api/v1/proposals",
        data=json.dumps(good_envelope(patch=copy_bomb())),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer pat_not-a-live-token",
    )
    assert_problem(response, 401, "unauthorized")
    assert counts() == before
