"""RFC 3339 timestamps as the event log writes them (a copy: patches may not import audit)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, e.g. 2026-11-25T20:31:10.123456Z (as audit.chain)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
