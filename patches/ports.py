"""Where the domain calls into the audit layer without importing it (console → audit → patches).

The audit app installs its implementations in `AuditConfig.ready()`; calling a port that nothing
installed is a configuration error, never a silent no-op, because an unlogged transition would
break the "all patches logged" invariant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from patches.models import Proposal


class EventRecorder(Protocol):
    def __call__(
        self, *, kind: str, actor: str, payload: dict[str, Any], proposal: Proposal | None = None
    ) -> Any: ...


class ChainWriter(Protocol):
    """Appending an event from inside the caller's own statement (see audit.log.ChainWriter).

    append_after_head() gives an INSERT … RETURNING (usable as a WITH query) that takes the
    chain lock itself; pass the row it returned to check_appended().
    """

    def append_after_head(
        self, *, kind: str, actor: str, payload: dict[str, Any], proposal_id: int | None
    ) -> tuple[str, list[Any], str]: ...

    def check_appended(self, before: str, appended: tuple[int, str, str]) -> None: ...


_event_recorder: EventRecorder | None = None
_audit_gate_opener: Callable[[Proposal], None] | None = None
_chain_writer: ChainWriter | None = None


def install(
    *,
    event_recorder: EventRecorder,
    audit_gate_opener: Callable[[Proposal], None],
    chain_writer: ChainWriter,
) -> None:
    global _event_recorder, _audit_gate_opener, _chain_writer
    _event_recorder = event_recorder
    _audit_gate_opener = audit_gate_opener
    _chain_writer = chain_writer


def chain_writer() -> ChainWriter:
    """The event log's writer for callers that append with their own SQL."""
    if _chain_writer is None:
        raise ImproperlyConfigured("no chain writer installed: is the audit app installed?")
    return _chain_writer


def record_event(
    *, kind: str, actor: str, payload: dict[str, Any], proposal: Proposal | None = None
) -> Any:
    """Append an event to the log; call it inside the transaction of the change it records."""
    if _event_recorder is None:
        raise ImproperlyConfigured("no event recorder installed: is the audit app installed?")
    return _event_recorder(kind=kind, actor=actor, payload=payload, proposal=proposal)


def open_audit_gate(proposal: Proposal) -> None:
    """Run the automated audit checks on a proposal that just passed its test gate."""
    if _audit_gate_opener is None:
        raise ImproperlyConfigured("no audit gate installed: is the audit app installed?")
    _audit_gate_opener(proposal)
