"""GET /api/v1/targets[/{name}[/versions/{n}]]: content as the agent needs it, with ETags."""

from __future__ import annotations

import json

from patches.canonical import canonical_text, sha256_hash
from patches.models import TargetVersion
from tests.api.conftest import assert_problem
from tests.factories import PROMPT, ROUTING, make_target


def test_it_lists_targets_with_their_current_version_and_hash(api, routing):
    prompt = make_target()
    body = api.get("/targets").json()
    prompt_hash = TargetVersion.objects.get(target=prompt).content_hash
    assert body == [
        {
            "name": "router",
            "patch_type": "Routing",
            "version": 1,
            "content_hash": TargetVersion.objects.get(target=routing).content_hash,
            "labels": {"production": 1},
        },
        {
            "name": "system_prompt",
            "patch_type": "Prompt",
            "version": 1,
            "content_hash": prompt_hash,
            "labels": {"production": 1},
        },
    ]


def test_it_serves_a_json_target_as_a_json_value_with_its_etag(api, routing):
    response = api.get("/targets/router")
    assert response.status_code == 200
    body = response.json()
    assert body["content"] == ROUTING
    assert body["content_hash"] == sha256_hash(canonical_text(ROUTING).encode())
    assert response["ETag"] == f'"{body["content_hash"]}"'


def test_it_serves_a_prompt_target_as_a_string(api, db):
    make_target()
    body = api.get("/targets/system_prompt").json()
    assert body["content"] == PROMPT and body["patch_type"] == "Prompt"


def test_it_answers_304_when_if_none_match_holds_the_current_etag(api, routing):
    etag = api.get("/targets/router")["ETag"]
    for header in (etag, f"W/{etag}", f'"sha256:{"0" * 64}", {etag}', "*"):
        response = api.get("/targets/router", HTTP_IF_NONE_MATCH=header)
        assert response.status_code == 304, header
        assert response["ETag"] == etag and response.content == b""
    assert api.get("/targets/router", HTTP_IF_NONE_MATCH=f'"sha256:{"0" * 64}"').status_code == 200


def test_it_serves_an_earlier_version(api, routing):
    newer = {**ROUTING, "threshold": 3.0}
    content = canonical_text(newer)
    TargetVersion.objects.create(
        target=routing, version=2, content=content, content_hash=sha256_hash(content.encode())
    )
    routing.version = 2
    routing.save()
    routing.labels.filter(name="production").update(version=2)  # as an apply moves it
    first = api.get("/targets/router/versions/1").json()
    assert first["version"] == 1 and first["content"] == ROUTING
    assert api.get("/targets/router").json()["content"] == newer
    assert json.loads(TargetVersion.objects.get(target=routing, version=2).content) == newer


def test_it_gives_404_for_an_unknown_target_or_version(api, routing):
    assert_problem(api.get("/targets/nope"), 404, "not-found")
    assert_problem(api.get("/targets/router/versions/9"), 404, "not-found")
    assert_problem(api.get("/targets/router/versions/0"), 422, "validation-error")


def test_reading_targets_needs_a_token(api, routing):
    assert_problem(api.client.get("/api/v1/targets/router"), 401, "unauthorized")
