"""Checkpoints: the console's signed statement that the chain had this head at this seq.

Each checkpoint is signed twice by the console key: the chain statement canonical({seq, head})
(what the head file, CheckpointSigned events and ChainChecker have always checked, so
checkpoints from before the transparency log keep verifying), and the C2SP tlog-checkpoint of
the Merkle tree of events 1..seq as a signed note (the checkpoint auditors, agents and
witnesses read; docs/transparency-log.md).

The signer checks every event since the last checkpoint first, MACs included, and refuses to
sign a chain with an event the console did not write: it raises the log alarm instead
(audit.log_head), which /healthz and the console show.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from audit.log_head import log_alarm_raise, log_head_read, log_head_write
from audit.models import Checkpoint
from audit.tree import tree_extend, tree_root
from audit.verify import chain_checker, checkpoint_problem, event_rows, first_mac_seq
from audit.witnesses import witnesses_publish
from patches.chain import ChainBroken
from patches.client.tlog import Checkpoint as CheckpointBody
from patches.client.tlog import Note, Verifier, note_sign
from patches.log import chain_head, chain_lock, event_append
from patches.models import Event
from patches.signing import (
    console_private_key,
    console_public_key,
    console_verifier_keys,
    key_id_of,
    sign,
)


class CheckpointError(Exception):
    """The chain cannot be checkpointed as it is; the message says why."""


def _refuse(problem: str) -> CheckpointError:
    log_alarm_raise(problem)
    return CheckpointError(problem)


def _check_since_last(*, last: Checkpoint | None, upto: int) -> None:
    """Strictly check the events after the last checkpoint: canonical payloads and MACs.

    This is what lets verify_chain skip those checks below a checkpoint: every event under a
    signed head was checked here once, and the head pins its bytes since.
    """
    recorded = log_head_read()
    if recorded is not None and (recorded.get("problem") or recorded["seq"] > upto):
        raise _refuse(
            f"refusing to sign: the log ends at seq {upto} but the console signed seq "
            f"{recorded['seq']} before (head file {recorded.get('problem') or 'says so'}): "
            "events were cut off"
        )
    # Start from the latest head the console signed: the last checkpoint row, or the head file
    # when the rows end below it (deleted with the events they signed).
    start, start_head = 0, ""
    if last is not None:
        problem = checkpoint_problem(last, console_verifier_keys())
        if problem:
            raise _refuse(f"the last checkpoint (seq {last.seq}) is not valid: {problem}")
        start, start_head = last.seq, last.head
    if recorded is not None and recorded["seq"] > start:
        start, start_head = recorded["seq"], recorded["head"]
    checker = chain_checker(trusted_upto=0, checkpoints={}, macs_after=start)
    if start:
        rows = next(event_rows(after=start - 1, upto=start), [])
        if not rows or rows[0][6] != start_head:
            raise _refuse(
                f"refusing to sign: the event at seq {start} no longer has the head the console "
                "signed there"
            )
        checker.last_seq, checker.head = start, start_head
    try:
        for rows in event_rows(after=checker.last_seq, upto=upto):
            checker.feed(rows)
    except ChainBroken as broken:
        raise _refuse(f"refusing to sign a chain the console did not write: {broken}") from broken
    if checker.last_seq != upto:
        raise CheckpointError(f"the log ends at seq {checker.last_seq}, expected {upto}")


def checkpoint_sign(*, actor: str = "system:console") -> Checkpoint:
    """Sign the current head, then log a CheckpointSigned event (covered by the next one)."""
    private_key = console_private_key()
    console_key = console_public_key()
    with transaction.atomic():
        chain_lock()  # the head cannot move between checking it and signing it
        seq, head = chain_head()
        if seq == 0:
            raise CheckpointError("the log is empty: nothing to checkpoint")
        last = Checkpoint.objects.order_by("-seq").first()
        if last is not None and last.seq == seq:
            return last
        _check_since_last(last=last, upto=seq)
        statement = {"seq": seq, "head": head}
        tree_extend(upto=seq)
        body = CheckpointBody(origin=settings.LOG_ORIGIN, size=seq, root=tree_root(seq)).body
        note = Note(text=body, signatures=(note_sign(private_key, settings.LOG_ORIGIN, body),))
        checkpoint = Checkpoint.objects.create(
            seq=seq,
            head=head,
            key_id=key_id_of(console_key),
            signature=sign(private_key, statement),
            note=note.render(),
        )
        event_append(
            kind="CheckpointSigned",
            actor=actor,
            payload={
                "seq": seq,
                "head": head,
                "key_id": checkpoint.key_id,
                "signature": checkpoint.signature,
                "note": checkpoint.note,
            },
        )
        witnesses_send_on_commit(checkpoint.pk)
        mac_from = first_mac_seq()
        transaction.on_commit(
            lambda: log_head_write(
                seq=seq,
                head=head,
                key_id=checkpoint.key_id,
                signature=checkpoint.signature,
                mac_from=mac_from,
            )
        )
    return checkpoint


def checkpoint_due(*, now: datetime) -> bool:
    """Whether the beat should sign now: a PatchApplied is not yet under a checkpoint, or the
    last checkpoint is CHECKPOINT_INTERVAL_S old (DESIGN.md: at least that often, and soon
    after every PatchApplied)."""
    last = Checkpoint.objects.order_by("-seq").values_list("seq", "created_at").first()
    if last is None:
        return Event.objects.exists()
    seq, signed_at = last
    if now - signed_at >= timedelta(seconds=settings.CHECKPOINT_INTERVAL_S):
        return True
    return Event.objects.filter(seq__gt=seq, kind="PatchApplied").exists()


def console_log_verifiers() -> list[Verifier]:
    """The console's note verifiers: the current key and the retired ones, named by the origin."""
    return [
        Verifier(name=settings.LOG_ORIGIN, public_key=raw)
        for raw in console_verifier_keys().values()
    ]


def witnesses_send_on_commit(checkpoint_id: int) -> None:
    """Send the checkpoint to the configured witnesses once it commits; never fails signing."""
    if any(witness["url"] for witness in settings.WITNESSES):
        transaction.on_commit(lambda: witnesses_publish(checkpoint_id))
