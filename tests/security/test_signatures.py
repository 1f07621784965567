"""Signature and replay attacks through POST /api/v1/proposals: each refused, nothing stored."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client

from audit.reviews import review_record
from patches.agents import agent_key_revoke
from patches.models import AgentKey, Proposal, ProposalStatus, Target
from patches.signing import key_id_of, raw_public_key, sign
from tests.factories import (
    AgentPersona,
    counts,
    make_reviewer,
    patch_hash_of,
    proposal_body,
    signed_envelope,
    threshold_patch,
)
from tests.security.conftest import post_envelope, post_raw, problem_slug

pytestmark = pytest.mark.django_db


def _proposal(router: Target, **fields: Any) -> dict[str, Any]:
    fields.setdefault("patch", threshold_patch())
    return proposal_body(target=router, **fields)


def _refused(client: Client, body: Any, persona: AgentPersona, status: int, slug: str) -> None:
    before = counts()
    response = (
        post_raw(client, body, persona)
        if isinstance(body, bytes | str)
        else post_envelope(client, body, persona)
    )
    assert response.status_code == status, response.content
    assert problem_slug(response) == slug
    assert counts() == before, "a refused proposal must store nothing"


def _submit_gated(
    client: Client, envelope: dict[str, Any], persona: AgentPersona, capture: Any
) -> Any:
    """Submit and run the gate its commit enqueues (eager Celery)."""
    with capture(execute=True):
        response = post_envelope(client, envelope, persona)
    assert response.status_code == 201, response.content
    return response


def _approve(proposal_id: int) -> Proposal:
    reviewer = make_reviewer("rita")
    proposal = Proposal.objects.get(pk=proposal_id)
    review_record(
        proposal=proposal,
        reviewer=reviewer,
        decision="approve",
        reason="Looks right.",
        patch_hash=proposal.patch_hash,
        base_content_hash=proposal.base_content_hash,
    )
    proposal.refresh_from_db()
    return proposal


@pytest.mark.parametrize("byte_index", [0, 17, 31, 32, 50, 63])
def test_a_bit_flipped_signature_is_refused(client, smith, router, byte_index):
    envelope = signed_envelope(smith, _proposal(router))
    raw = bytearray(base64.b64decode(envelope["signature"]["value"]))
    raw[byte_index] ^= 0x01
    envelope["signature"]["value"] = base64.b64encode(bytes(raw)).decode()
    _refused(client, envelope, smith, 400, "bad-signature")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reasoning", "Clearer instructions for refunds!"),
        ("base_version", 2),
        ("patch", threshold_patch(3.0)),
        ("test_requirements", ["extra"]),
        ("nonce", "0" * 32),
        ("target", "router2"),
    ],
)
def test_a_proposal_changed_after_signing_is_refused(client, smith, router, field, value):
    envelope = signed_envelope(smith, _proposal(router))
    envelope["proposal"][field] = value
    before = counts()
    response = post_envelope(client, envelope, smith)
    assert 400 <= response.status_code < 500
    # A changed target that does not exist is refused earlier (404); everything else must fail
    # the signature, never slip through to a later check.
    expected = "unknown-target" if field == "target" else "bad-signature"
    assert problem_slug(response) == expected
    assert counts() == before


def test_a_signature_of_another_proposal_is_refused(client, smith, router):
    """Mix and match: a valid signature, lifted from a different proposal by the same key."""
    first = signed_envelope(smith, _proposal(router))
    second = signed_envelope(smith, _proposal(router, patch=threshold_patch(5.0)))
    second["signature"] = first["signature"]
    _refused(client, second, smith, 400, "bad-signature")


def test_a_signature_by_an_unregistered_key_under_a_registered_key_id_is_refused(
    client, smith, router
):
    proposal = _proposal(router)
    envelope = signed_envelope(smith, proposal)
    envelope["signature"]["value"] = sign(Ed25519PrivateKey.generate(), proposal)
    _refused(client, envelope, smith, 400, "bad-signature")


def test_an_unregistered_key_is_refused(client, smith, router):
    stranger = Ed25519PrivateKey.generate()
    proposal = _proposal(router)
    envelope = {
        "proposal": proposal,
        "signature": {
            "key_id": key_id_of(raw_public_key(stranger.public_key())),
            "algorithm": "ed25519",
            "value": sign(stranger, proposal),
        },
    }
    _refused(client, envelope, smith, 403, "unknown-key")


def test_a_key_of_another_agent_is_refused(client, smith, jones, router):
    # jones signs correctly with his own key but submits with smith's token, and vice versa.
    _refused(client, signed_envelope(jones, _proposal(router)), smith, 403, "key-not-yours")
    _refused(client, signed_envelope(smith, _proposal(router)), jones, 403, "key-not-yours")


def test_a_revoked_key_is_refused(client, smith, router):
    agent_key_revoke(key=AgentKey.objects.get(key_id=smith.key_id), actor="user:test")
    _refused(client, signed_envelope(smith, _proposal(router)), smith, 403, "revoked-key")


def test_a_key_revoked_after_submit_blocks_the_apply(
    client, smith, router, django_capture_on_commit_callbacks
):
    response = _submit_gated(
        client, signed_envelope(smith, _proposal(router)), smith, django_capture_on_commit_callbacks
    )
    proposal = Proposal.objects.get(pk=response.json()["id"])
    assert proposal.status == ProposalStatus.IN_REVIEW
    agent_key_revoke(key=AgentKey.objects.get(key_id=smith.key_id), actor="user:test")
    proposal = _approve(proposal.pk)
    assert proposal.status == ProposalStatus.REJECTED
    assert proposal.stage == "apply"
    assert "revoked" in proposal.reason
    router.refresh_from_db()
    assert router.version == 1


def test_a_signature_over_non_canonical_bytes_is_refused(client, smith, router):
    proposal = _proposal(router)
    key = smith.private_key
    # Signed over Python's json.dumps (spaces, insertion order) instead of RFC 8785 bytes.
    loose = base64.b64encode(key.sign(json.dumps(proposal).encode())).decode()
    envelope = signed_envelope(smith, proposal)
    envelope["signature"]["value"] = loose
    _refused(client, envelope, smith, 400, "bad-signature")


def test_a_body_with_duplicate_keys_is_refused_before_any_signature_check(client, smith, router):
    """Two parsers could read two different proposals from one body; it is refused outright."""
    envelope = signed_envelope(smith, _proposal(router))
    body = json.dumps(envelope)
    reasoning = json.dumps(envelope["proposal"]["reasoning"])
    doubled = body.replace(
        f'"reasoning": {reasoning}', f'"reasoning": "evil", "reasoning": {reasoning}', 1
    )
    assert doubled != body
    _refused(client, doubled, smith, 422, "malformed-envelope")


@pytest.mark.parametrize("number", ["1.0", "1e0", "10e-1", "01"])
def test_another_spelling_of_a_number_never_makes_a_second_proposal(client, smith, router, number):
    """RFC 8785 writes 1.0 and 1e0 as 1: one signature covers every spelling of the same number,
    so a spelling is either refused or accepted as that one proposal, never as two."""
    proposal = _proposal(router)
    envelope = signed_envelope(smith, proposal)
    body = json.dumps(envelope).replace('"base_version": 1', f'"base_version": {number}', 1)
    response = post_raw(client, body, smith)
    if response.status_code == 201:
        assert response.json()["patch_hash"] == patch_hash_of(proposal)
        _refused(client, envelope, smith, 409, "replayed-nonce")
    else:
        assert response.status_code in (400, 422), response.content
        assert Proposal.objects.count() == 0


def test_a_non_canonically_spelled_body_of_a_valid_signature_is_accepted_once(
    client, smith, router
):
    """Whitespace and key order of the transport do not matter: the signature is over the
    canonical proposal, and the same proposal sent again in other bytes is still a replay."""
    envelope = signed_envelope(smith, _proposal(router))
    spaced = json.dumps(envelope, indent=3, sort_keys=False)
    assert post_raw(client, spaced, smith).status_code == 201
    reordered = json.dumps(
        {
            "signature": envelope["signature"],
            "proposal": dict(reversed(envelope["proposal"].items())),
        }
    )
    response = post_raw(client, reordered, smith)
    assert response.status_code == 409
    assert problem_slug(response) in ("replayed-nonce", "replayed-patch")


def test_a_replayed_envelope_is_refused(client, smith, router):
    envelope = signed_envelope(smith, _proposal(router))
    assert post_envelope(client, envelope, smith).status_code == 201
    _refused(client, envelope, smith, 409, "replayed-nonce")


def test_a_replayed_nonce_on_a_new_proposal_is_refused(client, smith, router):
    nonce = secrets.token_hex(16)
    assert (
        post_envelope(
            client, signed_envelope(smith, _proposal(router, nonce=nonce)), smith
        ).status_code
        == 201
    )
    again = signed_envelope(smith, _proposal(router, nonce=nonce, patch=threshold_patch(4.0)))
    _refused(client, again, smith, 409, "replayed-nonce")


def test_a_replayed_patch_hash_is_refused_even_after_the_first_was_decided(
    client, smith, router, django_capture_on_commit_callbacks
):
    envelope = signed_envelope(smith, _proposal(router))
    created = _submit_gated(client, envelope, smith, django_capture_on_commit_callbacks)
    assert _approve(created.json()["id"]).status == ProposalStatus.APPLIED
    # The same signed bytes once more: refused as a replay (before the now-stale base is seen).
    _refused(client, envelope, smith, 409, "replayed-nonce")


def test_a_rollback_to_an_old_base_is_refused(
    client, smith, router, django_capture_on_commit_callbacks
):
    created = _submit_gated(
        client, signed_envelope(smith, _proposal(router)), smith, django_capture_on_commit_callbacks
    )
    assert _approve(created.json()["id"]).status == ProposalStatus.APPLIED
    router.refresh_from_db()
    assert router.version == 2
    old_base = signed_envelope(smith, _proposal(router, base_version=1, patch=threshold_patch(9.0)))
    _refused(client, old_base, smith, 409, "stale-base")


def test_a_fast_forward_to_a_version_that_does_not_exist_is_refused(client, smith, router):
    ahead = signed_envelope(smith, _proposal(router, base_version=7))
    _refused(client, ahead, smith, 409, "stale-base")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not base64!",
        base64.b64encode(b"\x00" * 64).decode(),
        base64.b64encode(b"x" * 63).decode(),
    ],
)
def test_malformed_signature_values_are_refused(client, smith, router, value):
    envelope = signed_envelope(smith, _proposal(router))
    envelope["signature"]["value"] = value
    before = counts()
    response = post_envelope(client, envelope, smith)
    assert response.status_code in (400, 422), response.content
    assert counts() == before


def test_a_missing_or_wrong_token_is_refused_before_anything(client, smith, router):
    envelope = signed_envelope(smith, _proposal(router))
    before = counts()
    assert post_raw(client, json.dumps(envelope), None).status_code == 401
    response = client.post(
        "/api/v1/proposals",
        data=json.dumps(envelope),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer pat_" + "x" * 43,
    )
    assert response.status_code == 401
    assert counts() == before
