"""POST /api/v1/proposals: every refusal in contract order stores nothing; success stores it all."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patches.agents import agent_key_revoke, agent_token_rotate
from patches.canonical import canonical, hash_of
from patches.models import Agent, AgentKey, Event, Proposal, Signature, TargetVersion
from tests.api.conftest import assert_problem
from tests.factories import (
    ROUTING,
    counts,
    make_agent,
    make_target,
    make_test,
    proposal_body,
    signed_envelope,
    threshold_patch,
)


def test_it_accepts_a_signed_proposal_and_stores_it_with_its_event_and_gate_run(api, good_envelope):
    envelope = good_envelope(test_requirements=[])
    raw = json.dumps(envelope, indent=2)  # not canonical: the envelope is kept exactly as sent
    response = api.post_json("/proposals", raw)
    assert response.status_code == 201, response.content
    body = response.json()
    proposal = Proposal.objects.get()
    assert body == {
        "id": proposal.pk,
        "patch_hash": hash_of(envelope["proposal"]),
        "status": "testing",
        "url": f"/api/v1/proposals/{proposal.pk}",
        "change": proposal.pk,
    }
    assert proposal.envelope == raw
    assert proposal.base_content_hash == TargetVersion.objects.get(version=1).content_hash
    assert proposal.test_run.patch_hash == proposal.patch_hash
    signature = Signature.objects.get()
    assert signature.value == envelope["signature"]["value"]
    event = Event.objects.get(kind="PatchProposed")
    payload = json.loads(event.payload)
    assert event.actor == "agent:agent-smith"
    assert payload["proposal"] == proposal.pk
    assert payload["key_id"] == envelope["signature"]["key_id"]
    for field in ("patch_type", "target", "base_version", "reasoning"):
        assert payload[field] == envelope["proposal"][field]
    assert payload["patch_hash"] == proposal.patch_hash and payload["agent"] == "agent-smith"


def test_it_runs_the_targets_mandatory_tests_and_the_requested_ones(api, agent, db):
    mandatory = make_test("shape", "json_schema", {"schema": {"type": "object"}})
    cases = make_test("cases", "routing_cases", {"cases": []})
    target = make_target(
        name="router2",
        patch_type="Routing",
        content={"default": "general", "threshold": 1.0, "routes": {}},
        tests=[mandatory.name],
    )
    target.offered_tests.add(cases)  # agents name only tests their target offers
    envelope = signed_envelope(
        agent, proposal_body(target=target, patch=threshold_patch(), test_requirements=["cases"])
    )
    assert api.submit(envelope).status_code == 201
    names = list(
        Proposal.objects.get().test_run.results.order_by("position").values_list("name", flat=True)
    )
    assert names == ["shape", "cases"]


def test_it_refuses_a_missing_or_unknown_token_with_401(api, good_envelope, agent):
    envelope = good_envelope()
    before = counts()
    response = api.client.post(
        "/api/v1/proposals", data=json.dumps(envelope), content_type="application/json"
    )
    assert_problem(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")
    response = api.client.post(
        "/api/v1/proposals",
        data=json.dumps(envelope),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer pat_not-a-token",
    )
    assert_problem(response, 401, "unauthorized")
    assert counts() == before


def test_it_checks_the_token_before_the_body_size(api, settings):
    settings.API_MAX_BODY_BYTES = 1024
    response = api.client.post(
        "/api/v1/proposals", data="x" * 5000, content_type="application/json"
    )
    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "fault", ["body over the limit", "not JSON", "unknown target", "good envelope"]
)
@pytest.mark.parametrize("token", ["unknown", "rotated", "inactive agent"])
def test_a_token_that_is_not_live_is_refused_before_anything_in_the_body(
    api, agent, good_envelope, settings, fault, token
):
    # The API authenticates the bearer before the handler reads the body: the 401 comes first.
    settings.API_MAX_BODY_BYTES = 4096
    body = {
        "body over the limit": "x" * 5000,
        "not JSON": "{not json",
        "unknown target": json.dumps(
            signed_envelope(agent, {**good_envelope()["proposal"], "target": "nowhere"})
        ),
        "good envelope": json.dumps(good_envelope()),
    }[fault]
    bearer = {"unknown": "pat_not-a-token", "rotated": agent.token, "inactive agent": agent.token}
    if token == "rotated":
        agent_token_rotate(agent=agent.agent)
    if token == "inactive agent":
        Agent.objects.filter(pk=agent.agent.pk).update(is_active=False)
    before = counts()
    response = api.client.post(
        "/api/v1/proposals",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {bearer[token]}",
    )
    assert_problem(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert counts() == before


def test_it_refuses_a_body_over_the_limit_with_413(api, good_envelope, settings):
    settings.API_MAX_BODY_BYTES = 2048
    envelope = good_envelope(reasoning="r" * 3000)
    before = counts()
    assert_problem(api.submit(envelope), 413, "payload-too-large")
    assert counts() == before


def test_it_refuses_a_declared_content_length_over_the_limit_with_413(api, good_envelope, settings):
    settings.API_MAX_BODY_BYTES = 2048
    before = counts()
    response = api.post_json("/proposals", good_envelope(), CONTENT_LENGTH="99999999")
    assert_problem(response, 413, "payload-too-large")
    assert counts() == before


def _mutations():
    """(label, function from a good envelope dict to a bad body) — each one a 422 cause."""

    def drop(part, key):
        def apply(env):
            del env[part][key]
            return env

        return apply

    def setf(part, key, value):
        def apply(env):
            env[part][key] = value
            return env

        return apply

    def deep(env):
        nested: object = 1
        for _ in range(40):
            nested = [nested]
        env["proposal"]["test_requirements"] = nested
        return env

    return [
        ("not json", lambda env: "{not json"),
        ("not utf-8", lambda env: b"\xff\xfe{}"),
        ("not an object", lambda env: [env]),
        ("duplicate key", lambda env: json.dumps(env)[:-1] + ', "proposal": {}}'),
        ("NaN", lambda env: json.dumps(env)[:-1] + ', "x": NaN}'),
        ("extra envelope key", lambda env: {**env, "extra": 1}),
        ("missing signature", lambda env: {"proposal": env["proposal"]}),
        ("extra proposal key", setf("proposal", "priority", "high")),
        ("missing nonce", drop("proposal", "nonce")),
        ("missing key_id", drop("signature", "key_id")),
        ("base_version a string", setf("proposal", "base_version", "1")),
        ("base_version a bool", setf("proposal", "base_version", True)),
        ("base_version zero", setf("proposal", "base_version", 0)),
        ("base_version a fraction", setf("proposal", "base_version", 1.5)),
        ("base_version beyond 2^53", setf("proposal", "base_version", 2**60)),
        ("patch not a string", setf("proposal", "patch", [{"op": "remove", "path": "/x"}])),
        ("unknown patch_type", setf("proposal", "patch_type", "Code")),
        ("short nonce", setf("proposal", "nonce", "ab" * 15)),
        ("nonce not hex", setf("proposal", "nonce", "zz" * 16)),
        ("empty reasoning", setf("proposal", "reasoning", "   ")),
        ("reasoning too long", setf("proposal", "reasoning", "r" * 20_001)),
        ("too many tests", setf("proposal", "test_requirements", [f"t{i}" for i in range(33)])),
        ("tests not strings", setf("proposal", "test_requirements", [1])),
        ("too deep", deep),
        ("bad algorithm", setf("signature", "algorithm", "rsa")),
        ("bad key_id", setf("signature", "key_id", "abc")),
        (
            "lone surrogate",
            lambda env: json.dumps(env).replace('"reasoning": "', '"reasoning": "\\ud800'),
        ),
    ]


@pytest.mark.parametrize("label,mutate", _mutations(), ids=[m[0] for m in _mutations()])
def test_it_refuses_a_malformed_envelope_with_422(api, good_envelope, label, mutate):
    body = mutate(good_envelope())
    before = counts()
    problem = assert_problem(api.post_json("/proposals", body), 422, "malformed-envelope")
    assert problem["detail"]
    assert counts() == before


def test_it_refuses_an_unknown_target_with_404(api, agent, routing):
    proposal = proposal_body(target=routing, patch=threshold_patch())
    proposal["target"] = "no-such-target"
    before = counts()
    assert_problem(api.submit(signed_envelope(agent, proposal)), 404, "unknown-target")
    assert counts() == before


def test_it_refuses_a_patch_type_that_is_not_the_targets_with_422(api, good_envelope):
    before = counts()
    problem = assert_problem(
        api.submit(good_envelope(patch_type="Config")), 422, "patch-type-mismatch"
    )
    assert "Routing" in problem["detail"]
    assert counts() == before


def test_it_refuses_an_unknown_key_with_403(api, agent, routing):
    stranger = Ed25519PrivateKey.generate()
    envelope = signed_envelope(agent, proposal_body(target=routing, patch=threshold_patch()))
    envelope["signature"]["key_id"] = hashlib.sha256(
        stranger.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    ).hexdigest()
    before = counts()
    assert_problem(api.submit(envelope), 403, "unknown-key")
    assert counts() == before


def test_it_refuses_another_agents_key_with_403(api, routing):
    other = make_agent("agent-jones")
    envelope = signed_envelope(other, proposal_body(target=routing, patch=threshold_patch()))
    before = counts()
    assert_problem(api.submit(envelope), 403, "key-not-yours")
    assert counts() == before


def test_it_refuses_a_revoked_key_with_403(api, agent, good_envelope):
    agent_key_revoke(key=AgentKey.objects.get(key_id=agent.key_id), actor="user:test")
    before = counts()
    assert_problem(api.submit(good_envelope()), 403, "revoked-key")
    assert counts() == before


def _flip_bit(text_b64: str) -> str:
    raw = bytearray(base64.b64decode(text_b64))
    raw[10] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_it_refuses_a_signature_with_a_flipped_bit_with_400(api, good_envelope):
    envelope = good_envelope()
    envelope["signature"]["value"] = _flip_bit(envelope["signature"]["value"])
    before = counts()
    assert_problem(api.submit(envelope), 400, "bad-signature")
    assert counts() == before


def test_it_refuses_a_proposal_changed_after_signing_with_400(api, good_envelope):
    envelope = good_envelope(reasoning="Raise the threshold.")
    envelope["proposal"]["reasoning"] = (
        "Raise the threshold!"  # one bit: '.' 0x2e -> '!' 0x21... close enough
    )
    before = counts()
    assert_problem(api.submit(envelope), 400, "bad-signature")
    assert counts() == before


def test_it_refuses_a_signature_that_is_not_base64_or_not_64_bytes_with_400(api, good_envelope):
    for value in ("not base64!", base64.b64encode(b"short").decode()):
        envelope = good_envelope()
        envelope["signature"]["value"] = value
        assert_problem(api.submit(envelope), 400, "bad-signature")
    assert Proposal.objects.count() == 0


def _independent_envelope(
    private_key: Ed25519PrivateKey, proposal: dict, signed_bytes: bytes
) -> dict:
    raw_public = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {
        "proposal": proposal,
        "signature": {
            "key_id": hashlib.sha256(raw_public).hexdigest(),
            "algorithm": "ed25519",
            "value": base64.b64encode(private_key.sign(signed_bytes)).decode(),
        },
    }


def test_it_accepts_a_signature_made_by_an_independent_implementation(api, agent, routing):
    proposal = {
        "patch_type": "Routing",
        "target": "router",
        "base_version": 1,
        "patch": '[{"op":"replace","path":"/threshold","value":1.5}]',
        "reasoning": "Fewer false positives \U0001f680 ünïcödé",
        "test_requirements": [],
        "nonce": secrets.token_hex(16),
    }
    envelope = _independent_envelope(agent.private_key, proposal, rfc8785.dumps(proposal))
    response = api.submit(envelope)
    assert response.status_code == 201, response.content
    expected_hash = "sha256:" + hashlib.sha256(rfc8785.dumps(proposal)).hexdigest()
    assert response.json()["patch_hash"] == expected_hash


@pytest.mark.parametrize(
    "serialize",
    [
        lambda p: json.dumps(p, sort_keys=True).encode(),  # spaces after separators
        lambda p: json.dumps(p, sort_keys=True, separators=(",", ":")).encode(),  # \ud83d escapes
    ],
    ids=["default separators", "ascii escapes of a non-BMP character"],
)
def test_it_refuses_a_signature_over_non_canonical_bytes(api, agent, routing, serialize):
    proposal = proposal_body(target=routing, patch=threshold_patch(), reasoning="Faster \U0001f680")
    assert serialize(proposal) != canonical(proposal)
    before = counts()
    assert_problem(
        api.submit(_independent_envelope(agent.private_key, proposal, serialize(proposal))),
        400,
        "bad-signature",
    )
    assert counts() == before


def test_it_refuses_a_signature_over_a_float_written_as_json_dumps_writes_it(api, agent, routing):
    proposal = proposal_body(target=routing, patch=threshold_patch())
    proposal["base_version"] = 1.0  # JCS writes 1, json.dumps writes 1.0
    signed = json.dumps(
        proposal, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert signed != canonical(proposal)
    before = counts()
    assert_problem(
        api.submit(_independent_envelope(agent.private_key, proposal, signed)), 400, "bad-signature"
    )
    assert counts() == before


def test_it_accepts_an_integral_float_base_version_signed_canonically(api, agent, routing):
    proposal = proposal_body(target=routing, patch=threshold_patch())
    proposal["base_version"] = 1.0
    response = api.submit(
        _independent_envelope(agent.private_key, proposal, rfc8785.dumps(proposal))
    )
    assert response.status_code == 201, response.content
    assert Proposal.objects.get().base_version == 1


def test_replaying_an_accepted_envelope_gives_409_and_stores_nothing(api, good_envelope):
    envelope = good_envelope()
    assert api.submit(envelope).status_code == 201
    before = counts()
    assert_problem(api.submit(envelope), 409, "replayed-nonce")
    assert counts() == before


def test_it_refuses_a_new_proposal_reusing_a_nonce_with_409(api, good_envelope):
    first = good_envelope()
    assert api.submit(first).status_code == 201
    second = good_envelope(nonce=first["proposal"]["nonce"], patch=threshold_patch(3.0))
    before = counts()
    assert_problem(api.submit(second), 409, "replayed-nonce")
    assert counts() == before


def test_it_refuses_a_known_patch_hash_with_409(api, good_envelope):
    envelope = good_envelope()
    assert api.submit(envelope).status_code == 201
    # The same proposal can only come back with its own nonce; give the stored row another one
    # to reach the patch_hash check on its own.
    Proposal.objects.update(nonce="f" * 32)
    before = counts()
    assert_problem(api.submit(envelope), 409, "replayed-patch")
    assert counts() == before


def _bump_version(target):
    current = TargetVersion.objects.get(target=target, version=target.version)
    content = json.dumps({**json.loads(current.content), "threshold": 3.0})
    TargetVersion.objects.create(
        target=target, version=2, content=content, content_hash=hash_of(json.loads(content))
    )
    target.version = 2
    target.save(update_fields=["version"])


def test_it_refuses_a_stale_base_version_with_409(api, good_envelope, routing):
    _bump_version(routing)
    before = counts()
    problem = assert_problem(api.submit(good_envelope(base_version=1)), 409, "stale-base")
    assert problem["detail"] == "base_version 1 is stale: target router is at version 2"
    assert counts() == before


def test_it_refuses_a_base_version_from_the_future_with_409(api, good_envelope):
    problem = assert_problem(api.submit(good_envelope(base_version=7)), 409, "stale-base")
    assert "base_version 7 does not exist" in problem["detail"]


def test_it_refuses_an_unknown_test_name_with_422(api, good_envelope):
    before = counts()
    problem = assert_problem(
        api.submit(good_envelope(test_requirements=["no-such-test"])), 422, "unknown-test"
    )
    assert "no-such-test" in problem["detail"]
    assert counts() == before


def test_it_refuses_a_test_for_another_patch_type_with_422(api, good_envelope):
    make_test("prompt-only", "placeholders", patch_types=["Prompt"])
    assert_problem(
        api.submit(good_envelope(test_requirements=["prompt-only"])), 422, "unknown-test"
    )


@pytest.mark.parametrize(
    "patch",
    [
        "not json",
        '{"op": "replace"}',
        '[{"op": "remove", "path": "/no/such/path"}]',
        '[{"op": "replace", "path": "/threshold", "value": "high"}]',  # breaks the Routing shape
        '[{"op": "test", "path": "/default", "value": "billing"}]',
    ],
    ids=["not json", "not a list", "missing path", "breaks the shape", "failing test op"],
)
def test_it_refuses_a_patch_that_does_not_parse_or_apply_with_422(api, good_envelope, patch):
    before = counts()
    assert_problem(api.submit(good_envelope(patch=patch)), 422, "patch-does-not-apply")
    assert counts() == before


def test_it_refuses_an_agent_with_too_many_open_proposals_with_429(api, good_envelope, settings):
    settings.API_MAX_PENDING_PER_AGENT = 1
    assert api.submit(good_envelope()).status_code == 201
    before = counts()
    response = api.submit(good_envelope(patch=threshold_patch(4.0)))
    assert_problem(response, 429, "too-many-pending")
    assert int(response["Retry-After"]) > 0
    assert counts() == before


def test_a_decided_proposal_no_longer_counts_against_the_open_limit(api, good_envelope, settings):
    settings.API_MAX_PENDING_PER_AGENT = 1
    assert api.submit(good_envelope()).status_code == 201
    Proposal.objects.update(status="withdrawn", decided_at=timezone.now())
    assert api.submit(good_envelope(patch=threshold_patch(4.0))).status_code == 201


def test_it_accepts_a_unified_diff_to_a_prompt_target(api, agent, db):
    from patches.formats.unified_diff import make_unified_diff
    from tests.factories import PROMPT

    target = make_target()
    patch = make_unified_diff(PROMPT, PROMPT.replace("politely", "politely and briefly"))
    response = api.submit(signed_envelope(agent, proposal_body(target=target, patch=patch)))
    assert response.status_code == 201, response.content
    assert Proposal.objects.get().patch == patch


@pytest.mark.parametrize(
    "patch",
    [
        "--- a\n+++ b\n@@ -2,1 +2,1 @@\n-Answer rudely.\n+Answer politely.\n",  # context does not match
        "--- a\n+++ b\n@@ -9,1 +9,1 @@\n-x\n+y\n",  # beyond the end
        "just some words",
        "",
    ],
    ids=["wrong context", "out of range", "not a diff", "empty"],
)
def test_it_refuses_a_diff_that_does_not_apply_strictly_with_422(api, agent, db, patch):
    target = make_target()
    before = counts()
    assert_problem(
        api.submit(signed_envelope(agent, proposal_body(target=target, patch=patch))),
        422,
        "patch-does-not-apply",
    )
    assert counts() == before


def test_a_submission_costs_the_same_few_queries_however_many_tests_it_names(
    api, agent, db, on_postgres
):
    defined = [make_test(f"t{i}", "json_schema", {"schema": {"type": "object"}}) for i in range(6)]
    names = [test.name for test in defined]
    bare = make_target(name="bare", patch_type="Routing", content=ROUTING)
    tested = make_target(name="tested", patch_type="Routing", content=ROUTING, tests=names[:1])
    tested.offered_tests.set(defined[1:])  # agents name only tests their target offers

    def queries(target, requested):
        envelope = signed_envelope(
            agent,
            proposal_body(target=target, patch=threshold_patch(), test_requirements=requested),
        )
        with CaptureQueriesContext(connection) as captured:
            assert api.submit(envelope).status_code == 201
        return len(captured)

    few = queries(tested, names[1:2])
    assert queries(tested, names[1:]) == few  # no query per test named
    # The token; the target with its version; the key; both replay checks in one read; the
    # mandatory tests; the pending count; three inserts; the update that makes a first
    # proposal its own change; the log's head and its insert; and the savepoint around the
    # store (the test runs in a transaction). PostgreSQL adds the chain's advisory lock. A
    # target with tests adds the requested tests' read and the results' insert.
    bare = queries(bare, [])
    assert bare == (15 if on_postgres else 14)
    assert few == bare + 2


def test_a_submission_with_several_faults_is_refused_for_the_first_in_contract_order(
    api, agent, good_envelope, routing, settings
):
    # Each fault would be refused by a later check too; the refusal names the earliest one.
    accepted = good_envelope()
    assert api.submit(accepted).status_code == 201
    other = make_agent("agent-jones")
    settings.API_MAX_PENDING_PER_AGENT = 1  # the agent is at the limit from here on

    def with_other_key(envelope, **changes):
        return signed_envelope(other, {**envelope["proposal"], **changes})

    faults = [
        # unknown target, and a key that is not the agent's
        (with_other_key(good_envelope(), target="nowhere"), 404, "unknown-target"),
        # wrong patch type, and a key that is not the agent's
        (with_other_key(good_envelope(patch_type="Config")), 422, "patch-type-mismatch"),
        # a key that is not the agent's, and a replayed nonce
        (
            with_other_key(good_envelope(nonce=accepted["proposal"]["nonce"])),
            403,
            "key-not-yours",
        ),
        # a replayed nonce, and a base from the future
        (good_envelope(nonce=accepted["proposal"]["nonce"], base_version=9), 409, "replayed-nonce"),
        # a base from the future, and an unknown test
        (good_envelope(base_version=9, test_requirements=["nope"]), 409, "stale-base"),
        # an unknown test, and a patch that does not apply
        (good_envelope(test_requirements=["nope"], patch="[{}]"), 422, "unknown-test"),
        # too many pending proposals, and a patch that does not apply: the limit is checked
        # before any patch work (tests/api/test_submit_limits.py)
        (good_envelope(patch="[{}]"), 429, "too-many-pending"),
        (good_envelope(patch=threshold_patch(5.0)), 429, "too-many-pending"),
    ]
    before = counts()
    for envelope, status, slug in faults:
        assert_problem(api.submit(envelope), status, slug)
    assert counts() == before
    settings.API_MAX_PENDING_PER_AGENT = 2
    assert_problem(api.submit(good_envelope(patch="[{}]")), 422, "patch-does-not-apply")


def test_refused_submissions_leave_no_gap_in_proposal_ids(api, good_envelope, settings):
    first = good_envelope()
    assert api.submit(first).status_code == 201
    assert api.submit(first).status_code == 409  # a replay
    assert api.submit(good_envelope(base_version=7)).status_code == 409  # not the current base
    settings.API_MAX_PENDING_PER_AGENT = 1
    assert api.submit(good_envelope()).status_code == 429
    settings.API_MAX_PENDING_PER_AGENT = 50
    second = api.submit(good_envelope())
    assert second.status_code == 201
    assert second.json()["id"] == Proposal.objects.get(nonce=first["proposal"]["nonce"]).pk + 1
