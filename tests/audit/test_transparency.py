"""The console with a witness: checkpoints are sent to it and its cosignatures served; and the
attack the transparency log exists for. Someone with the database and the console key rewrites
an event under a cosigned checkpoint, recomputes every hash and MAC, re-signs every checkpoint
and signs a new one: the witness refuses it, and verify_log (with the witness configured) and
the stand-alone verifier (with the witness key) refuse the history."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.checkpoints import checkpoint_sign, console_log_verifiers
from audit.log_head import log_alarm, log_head_write
from audit.models import Checkpoint, Cosignature, MerkleNode
from audit.tree import tree_extend
from audit.witness import Witness, serve
from patches.canonical import canonical_text, format_timestamp, sha256_hash
from patches.chain import GENESIS_PREV_HASH, event_hash_input, event_mac
from patches.client.tlog import Checkpoint as CheckpointBody
from patches.client.tlog import Note, checkpoint_open, event_entry, note_sign
from patches.merkle import CompactRange
from patches.models import Event
from patches.signing import console_private_key, console_public_key, event_mac_key, key_id_of, sign
from tests.audit.conftest import build_history, drop_event_triggers, run_command
from tests.factories import make_reviewer

ORIGIN = "console.test/log"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def witness(tmp_path, settings, db):
    settings.LOG_ORIGIN = ORIGIN
    witness = Witness(tmp_path / "witness", "witness.test/w1", console_log_verifiers())
    server = serve(witness, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.WITNESSES = [{"vkey": witness.verifier.vkey, "name": witness.name, "url": url}]
    yield witness
    server.shutdown()
    server.server_close()


@pytest.fixture
def sign_and_send(django_capture_on_commit_callbacks):
    """Sign a checkpoint and run what follows its commit (the witness task, eager in tests)."""

    def run() -> Checkpoint:
        with django_capture_on_commit_callbacks(execute=True):
            return checkpoint_sign()

    return run


def test_each_checkpoint_is_cosigned_by_the_witness_and_served_with_it(witness, sign_and_send):
    build_history(checkpoint=sign_and_send)
    first = Checkpoint.objects.get()
    second = sign_and_send()
    assert witness.cosigned(ORIGIN)[0] == second.seq
    assert set(Cosignature.objects.values_list("checkpoint__seq", flat=True)) == {
        first.seq,
        second.seq,
    }
    served = Client().get("/api/v1/log/checkpoint").content.decode()
    (log_key,) = console_log_verifiers()
    checkpoint, _, cosigners = checkpoint_open(
        served, log_key, witnesses=[witness.verifier], quorum=1
    )
    assert checkpoint.size == second.seq and cosigners == [witness.verifier]
    code, out, err = run_command("verify_log")
    assert code == 0, err
    assert out.startswith(f"OK {Event.objects.count()} events")


def test_the_log_page_shows_each_witness_and_its_latest_cosigned_size(witness, sign_and_send):
    build_history(checkpoint=sign_and_send)
    latest = sign_and_send()
    client = Client()
    client.force_login(make_reviewer("rita2"))
    with CaptureQueriesContext(connection) as few:
        page = client.get("/log/")
    for _ in range(3):
        sign_and_send()
    with CaptureQueriesContext(connection) as more:
        client.get("/log/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "witness.test/w1" in html and f'<td class="num">{latest.seq}</td>' in html
    assert len(more) == len(few)  # no query per checkpoint or cosignature


def test_a_witness_that_is_down_never_blocks_signing(settings, db, sign_and_send):
    settings.LOG_ORIGIN = ORIGIN
    settings.WITNESSES = [
        {"vkey": _some_witness_vkey(), "name": "witness.test/w1", "url": "http://127.0.0.1:9"}
    ]
    build_history()
    checkpoint = sign_and_send()
    assert checkpoint.note and not Cosignature.objects.exists()
    assert log_alarm() is None


def _some_witness_vkey() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from patches.client.tlog import SIG_COSIGNATURE, Verifier

    raw = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    return Verifier(name="witness.test/w1", public_key=raw, sig_type=SIG_COSIGNATURE).vkey


# --- the attack -------------------------------------------------------------------------


def rewrite_history(seq: int) -> None:
    """What an attacker with the database and the console key can do: change event `seq`,
    then recompute every later hash, MAC, CheckpointSigned statement and note, checkpoint row,
    stored tree node and the head file, so that the chain checks all pass again."""
    drop_event_triggers(("audit_event", "audit_checkpoint"))
    key, mac_key = console_private_key(), event_mac_key()
    rows = list(Event.objects.order_by("seq"))
    tree, prev = CompactRange(), GENESIS_PREV_HASH
    for row in rows[: seq - 1]:
        tree.append(event_entry(row.hash))
        prev = row.hash
    for row in rows[seq - 1 :]:
        payload = json.loads(row.payload)
        if row.seq == seq:
            payload["reasoning"] = "Nothing to see here."
        if row.kind == "CheckpointSigned" and "note" in payload:
            size = payload["seq"]
            body = CheckpointBody(origin=ORIGIN, size=size, root=tree.root).body
            note = Note(text=body, signatures=(note_sign(key, ORIGIN, body),)).render()
            signature = sign(key, {"seq": size, "head": prev})
            payload.update(head=prev, signature=signature, note=note)
            Checkpoint.objects.filter(seq=size).update(head=prev, signature=signature, note=note)
        text = canonical_text(payload)
        digest = sha256_hash(
            event_hash_input(
                row.seq, row.kind, row.actor, text, format_timestamp(row.created_at), prev
            )
        )
        Event.objects.filter(seq=row.seq).update(
            payload=text, prev_hash=prev, hash=digest, mac=event_mac(mac_key, digest)
        )
        tree.append(event_entry(digest))
        prev = digest
    last = Checkpoint.objects.order_by("-seq").first()
    assert last is not None
    MerkleNode.objects.all().delete()
    tree_extend(upto=last.seq)
    log_head_write(
        seq=last.seq,
        head=last.head,
        key_id=key_id_of(console_public_key()),
        signature=last.signature,
        mac_from=1,
    )


@pytest.fixture
def attacked(witness, sign_and_send):
    """A history cosigned by the witness, then rewritten under that checkpoint and re-signed."""
    history = build_history(checkpoint=sign_and_send)
    cosigned = sign_and_send()
    size, root = witness.cosigned(ORIGIN)
    assert size == cosigned.seq
    target = Event.objects.get(kind="PatchApplied", payload__contains=history.applied[0].patch_hash)
    assert target.seq < cosigned.seq
    rewrite_history(target.seq)
    return history, cosigned, target, (size, root)


def test_the_witness_refuses_the_rewritten_history(attacked, witness, sign_and_send):
    _history, cosigned, _target, (size, root) = attacked
    forged = sign_and_send()  # the attacker signs a new checkpoint over the rewritten log
    assert forged.seq > cosigned.seq
    assert witness.cosigned(ORIGIN) == (size, root)  # unchanged: it did not cosign
    assert not forged.cosignatures.exists()
    alarm = log_alarm()
    assert alarm is not None and "not consistent" in alarm["problem"]


def test_a_rewritten_history_passes_the_chain_checks_without_a_witness(attacked, settings):
    settings.WITNESSES = []
    code, _, err = run_command("verify_log")
    assert code == 0, err  # every hash, MAC and console signature was recomputed


def test_verify_log_with_the_witness_refuses_it_by_the_stored_cosignature(attacked):
    _history, _cosigned, _target, _ = attacked
    code, _, err = run_command("verify_log", "--offline")
    assert code == 1
    assert err.startswith("FAIL at seq ")
    assert "witness witness.test/w1 cosigned another checkpoint" in err


def test_verify_log_asks_the_witness_when_the_cosignatures_are_deleted(attacked, sign_and_send):
    sign_and_send()
    Cosignature.objects.all().delete()
    code, _, err = run_command("verify_log", "--offline")
    assert code == 0, err  # nothing left in the database contradicts the rewrite...
    code, _, err = run_command("verify_log")
    assert code == 1  # ...but the witness does
    assert "refused checkpoint" in err and "not consistent" in err


def _verifier(bundle: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "audit.verifier",
            "--console-key",
            key_id_of(console_public_key()),
            *extra,
            str(bundle),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_stand_alone_verifier_refuses_the_rewritten_history(attacked, witness, tmp_path):
    code, _, err = run_command("export_log", str(tmp_path / "kept"))
    assert code == 0, err
    vkey = witness.verifier.vkey
    result = _verifier(tmp_path / "kept", "--witness-key", vkey)
    assert result.returncode == 1
    assert "signature of witness.test/w1 does not verify" in result.stderr
    # With the cosignatures deleted, the latest checkpoint has none: the policy refuses it.
    Cosignature.objects.all().delete()
    code, _, err = run_command("export_log", str(tmp_path / "deleted"))
    assert code == 0, err
    result = _verifier(tmp_path / "deleted", "--witness-key", vkey)
    assert result.returncode == 1
    assert "0 of the witnesses you gave cosigned the latest checkpoint" in result.stderr


def test_an_honest_bundle_verifies_with_the_witness_policy(witness, sign_and_send, tmp_path):
    build_history(checkpoint=sign_and_send)
    code, _, err = run_command("export_log", str(tmp_path / "bundle"))
    assert code == 0, err
    result = _verifier(tmp_path / "bundle", "--witness-key", witness.verifier.vkey)
    assert result.returncode == 0, result.stderr
    assert "1 witness cosignatures on the latest" in result.stdout
    tampered = tmp_path / "bundle" / "proofs"
    proof = next(tampered.iterdir())
    proof.write_text(proof.read_text().replace("index ", "index 1", 1))
    assert _verifier(tmp_path / "bundle").returncode == 1
