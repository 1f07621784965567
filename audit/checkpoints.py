"""Checkpoints: the console's signed statement that the chain had this head at this seq.

The signer checks every event since the last checkpoint first, MACs included, and refuses to
sign a chain with an event the console did not write: it raises the log alarm instead
(audit.log_head), which /healthz and the console show.
"""

from __future__ import annotations

from django.db import transaction

from audit.log_head import log_alarm_raise, log_head_read, log_head_write
from audit.models import Checkpoint
from audit.verify import chain_checker, checkpoint_problem, event_rows, first_mac_seq
from patches.chain import ChainBroken
from patches.log import chain_head, chain_lock, event_append
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
        checkpoint = Checkpoint.objects.create(
            seq=seq,
            head=head,
            key_id=key_id_of(console_key),
            signature=sign(private_key, statement),
        )
        event_append(
            kind="CheckpointSigned",
            actor=actor,
            payload={
                "seq": seq,
                "head": head,
                "key_id": checkpoint.key_id,
                "signature": checkpoint.signature,
            },
        )
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
