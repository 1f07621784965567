"""Installs the audit layer's implementations into the domain's ports (see patches.ports)."""

from __future__ import annotations


def install() -> None:
    from audit.gate import audit_gate_open
    from audit.log import ChainWriter, event_append
    from patches import ports

    ports.install(
        event_recorder=event_append,
        audit_gate_opener=audit_gate_open,
        chain_writer=ChainWriter(),
    )
