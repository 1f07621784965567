"""The transparency log API: the latest checkpoint (public), an event's tlog-proof (the event's
own visibility) and consistency proofs between signed checkpoint sizes, each checked with the
client's own verifier as an agent would."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from audit.checkpoints import checkpoint_sign
from audit.models import Checkpoint
from patches.client.tlog import (
    ProofError,
    Verifier,
    checkpoint_open,
    event_entry,
    parse_checkpoint,
    parse_note,
    tlog_proof_verify,
    unb64,
    verify_consistency,
)
from patches.models import Event
from patches.signing import console_public_key
from tests.api.conftest import API, Api
from tests.factories import (
    ROUTING,
    make_agent,
    make_target,
    proposal_body,
    signed_envelope,
    threshold_patch,
)

ORIGIN = "console.test/log"


def _log_key() -> Verifier:
    return Verifier(name=ORIGIN, public_key=console_public_key())


def _submit(api: Api, value: float) -> int:
    target = make_target(name=f"router-{int(value)}", patch_type="Routing", content=ROUTING)
    response = api.submit(
        signed_envelope(api.persona, proposal_body(target=target, patch=threshold_patch(value)))
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()


@pytest.fixture
def signed(api: Api, settings):
    """Two checkpoints over a log holding one proposal of the api agent's."""
    settings.LOG_ORIGIN = ORIGIN
    make_target(name="first", patch_type="Routing", content=ROUTING)
    first = checkpoint_sign()
    proposal_id = _submit(api, 3.0)
    second = checkpoint_sign()
    return first, second, proposal_id


def test_the_latest_checkpoint_is_public_and_verifies_under_the_console_key(signed):
    _first, second, _ = signed
    response = Client().get(API + "/log/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    checkpoint, _note, _ = checkpoint_open(response.content.decode(), _log_key())
    assert (checkpoint.origin, checkpoint.size) == (ORIGIN, second.seq)


def test_an_agent_proves_its_own_event_is_in_the_latest_checkpoint(api, signed):
    _first, second, proposal_id = signed
    event = Event.objects.get(proposal_id=proposal_id, kind="PatchProposed")
    response = api.get(f"/events/{event.seq}/proof")
    assert response.status_code == 200, response.content
    proof, checkpoint, _ = tlog_proof_verify(
        response.content.decode(), entry=event_entry(event.hash), log=_log_key()
    )
    assert (proof.index, checkpoint.size) == (event.seq - 1, second.seq)
    with pytest.raises(ProofError):  # another event's entry does not verify with this proof
        tlog_proof_verify(
            response.content.decode(), entry=event_entry(event.prev_hash), log=_log_key()
        )


def test_a_proof_in_an_older_checkpoint_is_given_for_its_size(api, signed, settings):
    first, _second, _ = signed
    settings.CHECKPOINT_INTERVAL_S = 600
    auditor_event = Event.objects.get(seq=1)
    # An auditor (log:read) sees every event; the api agent only its own.
    auditor = make_agent("auditor-bot")
    auditor.agent.scopes = ["log:read"]
    auditor.agent.save(update_fields=["scopes"])
    response = api.get(f"/events/{auditor_event.seq}/proof?size={first.seq}", persona=auditor)
    assert response.status_code == 200
    _proof, checkpoint, _ = tlog_proof_verify(
        response.content.decode(), entry=event_entry(auditor_event.hash), log=_log_key()
    )
    assert checkpoint.size == first.seq


def test_another_agents_event_has_no_proof_for_this_agent(api, signed):
    _first, _second, proposal_id = signed
    event = Event.objects.get(proposal_id=proposal_id, kind="PatchProposed")
    jones = make_agent("agent-jones")
    assert _problem(api.get(f"/events/{event.seq}/proof", persona=jones), 404)["detail"]
    assert _problem(api.get("/events/999999/proof"), 404)


def test_a_size_that_is_no_checkpoint_or_too_small_for_the_event_is_refused(api, signed):
    first, second, proposal_id = signed
    event = Event.objects.get(proposal_id=proposal_id, kind="PatchProposed")
    assert (
        "no checkpoint"
        in _problem(api.get(f"/events/{event.seq}/proof?size={second.seq - 1}"), 404)["detail"]
    )
    assert (
        "not in the tree"
        in _problem(api.get(f"/events/{event.seq}/proof?size={first.seq}"), 404)["detail"]
    )
    _problem(api.get(f"/events/{event.seq}/proof?size=0"), 422)
    _problem(api.get(f"/events/{event.seq}/proof?size={2**64}"), 422)


def test_an_event_after_the_latest_checkpoint_waits_for_the_next_one(api, signed):
    proposal_id = _submit(api, 4.0)
    event = Event.objects.get(proposal_id=proposal_id, kind="PatchProposed")
    assert (
        "not under a signed checkpoint yet"
        in _problem(api.get(f"/events/{event.seq}/proof"), 404)["detail"]
    )


def test_a_consistency_proof_links_two_signed_checkpoints(signed):
    first, second, _ = signed
    response = Client().get(API + f"/log/consistency?from={first.seq}&to={second.seq}")
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"]) == (first.seq, second.seq)
    roots = [parse_checkpoint(parse_note(cp.note).text).root for cp in (first, second)]
    verify_consistency(first.seq, second.seq, *roots, [unb64(p) for p in body["proof"]])


def test_consistency_between_sizes_that_are_not_checkpoints_is_refused(signed):
    first, second, _ = signed
    client = Client()
    _problem(client.get(API + f"/log/consistency?from={first.seq + 1}&to={second.seq}"), 404)
    _problem(client.get(API + f"/log/consistency?from={second.seq}&to={first.seq}"), 404)
    _problem(client.get(API + "/log/consistency?from=1"), 422)
    _problem(client.get(API + f"/log/consistency?from=-1&to={second.seq}"), 422)


@pytest.mark.django_db
def test_with_no_checkpoint_signed_the_log_calls_say_so():
    _problem(Client().get(API + "/log/checkpoint"), 404)
    assert not Checkpoint.objects.exists()


@override_settings(CONSOLE_RETIRED_PUBLIC_KEYS=[])
def test_checkpoint_notes_name_the_origin_and_the_signed_note_key_id(signed):
    _first, second, _ = signed
    note = parse_note(second.note)
    (signature,) = note.signatures
    assert signature.name == ORIGIN
    assert signature.key_id == _log_key().key_id
