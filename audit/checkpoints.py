"""Checkpoints: the console's signed statement that the chain had this head at this seq."""

from __future__ import annotations

from django.db import transaction

from audit.models import Checkpoint
from audit.verify import checkpoint_problem, event_rows
from patches.chain import ChainBroken, ChainChecker
from patches.log import chain_head, chain_lock, event_append
from patches.signing import console_private_key, console_public_key, key_id_of, sign


class CheckpointError(Exception):
    """The chain cannot be checkpointed as it is; the message says why."""


def _check_since_last(*, last: Checkpoint | None, upto: int, console_key: bytes) -> None:
    """Strictly check the events after the last checkpoint, canonical payloads included.

    This is what lets verify_chain skip the canonical check below a checkpoint: every event
    under a signed head was checked here once, and the head pins its bytes since.
    """
    checker = ChainChecker()
    if last is not None:
        problem = checkpoint_problem(last, console_key)
        if problem:
            raise CheckpointError(f"the last checkpoint (seq {last.seq}) is not valid: {problem}")
        rows = next(event_rows(after=last.seq - 1, upto=last.seq), [])
        if not rows or rows[0][6] != last.head:
            raise CheckpointError(
                f"the event at seq {last.seq} no longer has the head of the checkpoint there"
            )
        checker.last_seq, checker.head = last.seq, last.head
    try:
        for rows in event_rows(after=checker.last_seq, upto=upto):
            checker.feed(rows)
    except ChainBroken as broken:
        raise CheckpointError(f"refusing to sign a broken chain: {broken}") from broken
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
        _check_since_last(last=last, upto=seq, console_key=console_key)
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
    return checkpoint
