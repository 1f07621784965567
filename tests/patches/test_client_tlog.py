"""The agent's side of the transparency log (patches.client.tlog): the C2SP formats it reads,
and `python -m patches.client proof ID`, which fetches and verifies the tlog-proofs of its own
PatchApplied events under a k-of-n witness policy."""

from __future__ import annotations

import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client

from audit.checkpoints import checkpoint_sign, console_log_verifiers
from audit.witness import Witness, serve
from patches.client import AgentClient
from patches.client.__main__ import main
from patches.client.tlog import (
    SIG_COSIGNATURE,
    Checkpoint,
    Note,
    ProofError,
    Verifier,
    checkpoint_open,
    cosign,
    note_sign,
    note_verified_by,
    parse_note,
    parse_tlog_proof,
    parse_vkey,
)
from tests.audit.conftest import build_history
from tests.patches.test_client import django_transport
from tests.standalone import frameworks_loaded_by

ORIGIN = "console.test/log"


def _key_pair(name: str, sig_type: int = 0x01) -> tuple[Ed25519PrivateKey, Verifier]:
    key = Ed25519PrivateKey.generate()
    return key, Verifier(
        name=name, public_key=key.public_key().public_bytes_raw(), sig_type=sig_type
    )


def _note(key: Ed25519PrivateKey, size: int = 5) -> tuple[str, str]:
    body = Checkpoint(origin=ORIGIN, size=size, root=bytes(range(32))).body
    return body, Note(text=body, signatures=(note_sign(key, ORIGIN, body),)).render()


def test_the_tlog_module_imports_nothing_from_django():
    assert frameworks_loaded_by("patches.client.tlog") == []


def test_verifier_keys_round_trip_even_when_their_base64_holds_a_plus():
    for _ in range(20):
        _, verifier = _key_pair("w.test/1", SIG_COSIGNATURE)
        assert parse_vkey(verifier.vkey) == verifier
    with pytest.raises(ProofError):
        parse_vkey(verifier.vkey.replace(verifier.key_id.hex(), "00000000"))
    with pytest.raises(ProofError):
        parse_vkey("name with space+00000000+AQ==")


def test_a_note_ignores_unknown_keys_and_refuses_a_known_key_that_fails():
    key, log = _key_pair(ORIGIN)
    _, stranger = _key_pair(ORIGIN)
    _body, text = _note(key)
    assert note_verified_by(parse_note(text), [log]) == [log]
    assert note_verified_by(parse_note(text), [stranger]) == []  # same name, other key id
    forged = text.replace("\n5\n", "\n6\n")
    with pytest.raises(ProofError, match="does not verify"):
        note_verified_by(parse_note(forged), [log])
    with pytest.raises(ProofError):
        checkpoint_open(text, stranger)


def test_a_cosignature_verifies_only_over_its_checkpoint_and_counts_toward_the_quorum():
    key, log = _key_pair(ORIGIN)
    witness_key, witness = _key_pair("w.test/1", SIG_COSIGNATURE)
    body, text = _note(key)
    cosigned = text + cosign(witness_key, "w.test/1", body, 1_700_000_000).line
    _, _, cosigners = checkpoint_open(cosigned, log, witnesses=[witness], quorum=1)
    assert cosigners == [witness]
    with pytest.raises(ProofError, match="policy asks 1"):
        checkpoint_open(text, log, witnesses=[witness], quorum=1)
    other_body, _ = _note(key, size=6)
    moved = text + cosign(witness_key, "w.test/1", other_body, 1_700_000_000).line
    with pytest.raises(ProofError, match="does not verify"):
        checkpoint_open(moved, log, witnesses=[witness])


@pytest.mark.parametrize(
    "text",
    [
        "c2sp.org/tlog-proof@v2\nindex 0\n\nnote",
        "c2sp.org/tlog-proof@v1\nindex 01\n\nnote",
        "c2sp.org/tlog-proof@v1\nindex 0\nnot-base64!\n\nnote",
        "c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\nnote",
        "c2sp.org/tlog-proof@v1\nindex 0",
    ],
)
def test_malformed_tlog_proofs_are_refused(text):
    with pytest.raises(ProofError):
        parse_tlog_proof(text)


# --- the CLI against the console ------------------------------------------------------------


@pytest.fixture
def console(db, settings, tmp_path, django_capture_on_commit_callbacks):
    """A history applied by agent "scripted", cosigned by a witness; the agent's client."""
    settings.LOG_ORIGIN = ORIGIN
    witness = Witness(tmp_path / "witness", "witness.test/w1", console_log_verifiers())
    server = serve(witness, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.WITNESSES = [{"vkey": witness.verifier.vkey, "name": witness.name, "url": url}]
    history = build_history()
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint_sign()
    client = AgentClient(
        url="http://testserver", token=history.persona.token, transport=django_transport(Client())
    )
    yield client, history, witness
    server.shutdown()
    server.server_close()


def test_the_agent_proves_its_applied_proposal_under_a_one_of_one_witness_policy(console, capsys):
    client, history, witness = console
    (log,) = console_log_verifiers()
    proposal = history.applied[0]
    argv = [
        "proof",
        str(proposal.pk),
        "--log-key",
        log.vkey,
        "--witness-key",
        witness.verifier.vkey,
    ]
    assert main([*argv, "--quorum", "1"], client=client) == 0
    (proven,) = json.loads(capsys.readouterr().out)
    assert proven["cosigned_by"] == ["witness.test/w1"]
    assert proven["seq"] < proven["size"]


def test_the_proof_is_refused_under_a_policy_the_checkpoint_does_not_meet(console, capsys):
    client, history, witness = console
    (log,) = console_log_verifiers()
    _, other_witness = _key_pair("witness.test/w2", SIG_COSIGNATURE)
    _, wrong_log = _key_pair(ORIGIN)
    proposal = str(history.applied[0].pk)
    two = ["--witness-key", witness.verifier.vkey, "--witness-key", other_witness.vkey]
    assert (
        main(["proof", proposal, "--log-key", log.vkey, *two, "--quorum", "2"], client=client) == 1
    )
    assert (
        "1 of the witnesses cosigned this checkpoint; the policy asks 2" in capsys.readouterr().err
    )
    assert main(["proof", proposal, "--log-key", wrong_log.vkey], client=client) == 1
    assert "not signed by the log key" in capsys.readouterr().err
    assert main(["proof", proposal, "--log-key", "nonsense"], client=client) == 1
