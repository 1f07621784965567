"""verify_log: OK on an intact chain; tampering (with the triggers dropped) fails at the first bad seq."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection

from audit.checkpoints import CheckpointError, checkpoint_sign
from audit.models import Checkpoint
from audit.verify import verify_chain
from patches.canonical import format_timestamp
from patches.chain import event_hash_input
from patches.log import event_append
from patches.models import Event
from patches.signing import console_public_key
from tests.audit.conftest import build_history, drop_event_triggers, run_command


@pytest.fixture
def chain(db: None) -> list[Event]:
    for n in range(1, 11):
        event_append(kind="Thing", actor="user:test", payload={"n": n, "text": f"event {n}"})
    return list(Event.objects.order_by("seq"))


def _sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def test_an_intact_chain_verifies(chain: list[Event]) -> None:
    code, out, _ = run_command("verify_log")
    assert code == 0
    assert out.strip() == f"OK 10 events, head {chain[-1].hash}"


def test_a_scripted_history_with_a_checkpoint_verifies(db: None) -> None:
    build_history(checkpoint=checkpoint_sign)
    code, out, _ = run_command("verify_log")
    head = Event.objects.order_by("-seq").first()
    assert code == 0, out
    assert out.strip() == f"OK {head.seq} events, head {head.hash}"
    assert Event.objects.filter(kind="CheckpointSigned").count() == 1


def test_an_empty_log_verifies(db: None) -> None:
    code, out, _ = run_command("verify_log")
    assert (code, out.strip()) == (0, "OK 0 events, head sha256:" + "0" * 64)


def test_a_changed_field_fails_at_its_seq(chain: list[Event]) -> None:
    drop_event_triggers()
    _sql("UPDATE audit_event SET actor = 'user:mallory' WHERE seq = 7")
    code, _, err = run_command("verify_log")
    assert code == 1
    assert err.strip() == "FAIL at seq 7: hash mismatch: the stored hash does not match the event"


def test_a_changed_payload_fails_at_its_seq(chain: list[Event]) -> None:
    drop_event_triggers()
    _sql("""UPDATE audit_event SET payload = '{"n":5,"text":"forged"}' WHERE seq = 5""")
    code, _, err = run_command("verify_log")
    assert (code, err.strip()) == (
        1,
        "FAIL at seq 5: hash mismatch: the stored hash does not match the event",
    )


def test_a_deleted_event_fails_at_the_gap(chain: list[Event]) -> None:
    drop_event_triggers()
    _sql("DELETE FROM audit_event WHERE seq = 5")
    code, _, err = run_command("verify_log")
    assert (code, err.strip()) == (1, "FAIL at seq 5: gap: expected seq 5, found 6")


def test_reordered_events_fail_at_the_first_moved_seq(chain: list[Event]) -> None:
    drop_event_triggers()
    # Swap 4 and 6 through a free seq number.
    _sql("UPDATE audit_event SET seq = 1000 WHERE seq = 4")
    _sql("UPDATE audit_event SET seq = 4 WHERE seq = 6")
    _sql("UPDATE audit_event SET seq = 6 WHERE seq = 1000")
    code, _, err = run_command("verify_log")
    assert code == 1
    assert err.startswith("FAIL at seq 4: ")


def test_an_inserted_event_fails_at_its_own_seq(chain: list[Event]) -> None:
    drop_event_triggers()
    for seq in range(10, 5, -1):
        _sql("UPDATE audit_event SET seq = seq + 1 WHERE seq = %s", [seq])
    # A well-formed forgery at seq 6, linked to 5 and correctly hashed: it has no MAC the
    # console wrote (and 7 no longer links).
    moment = chain[4].created_at
    created = format_timestamp(moment)
    payload = '{"n":0}'
    data = event_hash_input(
        seq=6,
        kind="Thing",
        actor="user:test",
        payload_text=payload,
        created_at=created,
        prev_hash=chain[4].hash,
    )
    Event.objects.create(
        seq=6,
        kind="Thing",
        actor="user:test",
        payload=payload,
        created_at=moment,
        prev_hash=chain[4].hash,
        hash="sha256:" + hashlib.sha256(data).hexdigest(),
    )
    code, _, err = run_command("verify_log")
    assert (code, err.strip()) == (
        1,
        "FAIL at seq 6: MAC mismatch: this event was not written by the console",
    )


def test_an_appended_forgery_with_a_bad_hash_fails_at_its_seq(chain: list[Event]) -> None:
    Event.objects.create(
        seq=11,
        kind="Thing",
        actor="user:test",
        payload="{}",
        created_at=chain[0].created_at,
        prev_hash=chain[-1].hash,
        hash="sha256:" + "a" * 64,
    )
    code, _, err = run_command("verify_log")
    assert (code, err.strip()) == (
        1,
        "FAIL at seq 11: hash mismatch: the stored hash does not match the event",
    )


def test_a_rewritten_tail_is_caught_by_the_checkpoint(chain: list[Event]) -> None:
    checkpoint = checkpoint_sign()  # at seq 10; its own event is seq 11
    assert (checkpoint.seq, checkpoint.head) == (10, chain[-1].hash)
    drop_event_triggers()
    # Rewrite event 10 *and* its hash consistently: only the signed head can tell.
    row = Event.objects.get(seq=10)
    payload = '{"n":10,"text":"rewritten"}'
    data = event_hash_input(
        seq=10,
        kind=row.kind,
        actor=row.actor,
        payload_text=payload,
        created_at=row.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        prev_hash=row.prev_hash,
    )
    _sql(
        "UPDATE audit_event SET payload = %s, hash = %s WHERE seq = 10",
        [payload, "sha256:" + hashlib.sha256(data).hexdigest()],
    )
    code, _, err = run_command("verify_log")
    assert (code, err.strip()) == (
        1,
        "FAIL at seq 10: the chain's head here differs from the signed checkpoint",
    )


def test_deleting_the_tail_is_caught_by_a_checkpoint(chain: list[Event]) -> None:
    checkpoint_sign()
    drop_event_triggers()
    _sql("DELETE FROM audit_event WHERE seq >= 9")
    code, _, err = run_command("verify_log")
    assert code == 1
    assert err.startswith("FAIL at seq 9: missing events: a checkpoint is signed at seq 10")


def test_a_forged_checkpoint_signature_fails(chain: list[Event]) -> None:
    good = checkpoint_sign()
    Checkpoint.objects.create(
        seq=5, head=chain[4].hash, key_id=good.key_id, signature=good.signature
    )
    code, _, err = run_command("verify_log")
    assert code == 1
    assert err.startswith("FAIL at seq 5: checkpoint signature")


def test_a_non_canonical_payload_is_named_even_below_a_checkpoint(chain: list[Event]) -> None:
    checkpoint_sign()
    drop_event_triggers()
    row = Event.objects.get(seq=3)
    payload = '{"text":"event 3", "n":3}'
    data = event_hash_input(
        seq=3,
        kind=row.kind,
        actor=row.actor,
        payload_text=payload,
        created_at=row.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        prev_hash=row.prev_hash,
    )
    _sql(
        "UPDATE audit_event SET payload = %s, hash = %s WHERE seq = 3",
        [payload, "sha256:" + hashlib.sha256(data).hexdigest()],
    )
    code, _, err = run_command("verify_log")
    assert (code, err.strip()) == (1, "FAIL at seq 3: payload is not canonical JSON (RFC 8785)")


def test_checkpoints_refuse_to_sign_a_broken_chain(chain: list[Event]) -> None:
    drop_event_triggers()
    _sql("UPDATE audit_event SET kind = 'Forged' WHERE seq = 2")
    with pytest.raises(CheckpointError, match="seq 2: hash mismatch"):
        checkpoint_sign()


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_agree_with_the_sequential_check(monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(60):
        event_append(kind="Thing", actor="user:test", payload={"n": n})
    checkpoint_sign()
    sequential = verify_chain(workers=1)
    with monkeypatch.context() as patched:
        # The workers alone must vouch for an intact chain, without the sequential pass.
        patched.setattr("audit.verify._check", lambda *a, **k: pytest.fail("sequential pass ran"))
        parallel = verify_chain(workers=3)
    assert sequential.ok and parallel == sequential
    last = Event.objects.order_by("-seq").first()
    Event.objects.create(
        seq=last.seq + 1,
        kind="Thing",
        actor="user:test",
        payload="{}",
        created_at=last.created_at,
        prev_hash=last.hash,
        hash="sha256:" + "b" * 64,
    )
    broken = verify_chain(workers=3)
    assert (broken.ok, broken.seq) == (False, last.seq + 1)
    assert broken.message.startswith(f"FAIL at seq {last.seq + 1}: hash mismatch")


@pytest.fixture
def console_key_rotated(settings):  # type: ignore[no-untyped-def]
    """Switch the console to a new key (as CONSOLE_SIGNING_KEY does), and back after."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from patches.signing import console_private_key, event_mac_key, private_key_pem

    def rotate() -> bytes:
        old = console_public_key()
        settings.CONSOLE_SIGNING_KEY = private_key_pem(Ed25519PrivateKey.generate()).decode()
        console_private_key.cache_clear()
        event_mac_key.cache_clear()
        return old

    yield rotate
    console_private_key.cache_clear()
    event_mac_key.cache_clear()


def test_checkpoints_of_a_retired_console_key_keep_verifying(
    db: None, settings, console_key_rotated
) -> None:  # type: ignore[no-untyped-def]
    build_history(checkpoint=checkpoint_sign)
    checkpoint_sign()  # the rotation procedure: sign a checkpoint, then change keys
    retired = console_key_rotated()
    settings.CONSOLE_RETIRED_PUBLIC_KEYS = [retired]
    event_append(kind="Thing", actor="user:test", payload={"after": "rotation"})
    checkpoint_sign()
    code, out, err = run_command("verify_log")
    assert code == 0, err
    assert out.startswith(f"OK {Event.objects.count()} events")
    # Without the retired key nothing vouches for the events before the rotation: their MACs
    # are under the old key, so the log is refused from the first of them, not skipped.
    settings.CONSOLE_RETIRED_PUBLIC_KEYS = []
    code, _, err = run_command("verify_log")
    assert (code, err.strip()) == (
        1,
        "FAIL at seq 1: MAC mismatch: this event was not written by the console",
    )
