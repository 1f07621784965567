"""How the console words stages, statuses and why a proposal closed: one spelling for each.

Pure functions of plain values (no ORM), so every page and partial says the same thing and
statuses added later (`stale`, `superseded`, …) read sensibly without a change here.
"""

from __future__ import annotations

SUMMARY_CHARS = 140

STAGE_NAMES = {"test_gate": "test gate", "audit_gate": "audit gate", "apply": "apply"}


def first_line(text: str | None, limit: int = SUMMARY_CHARS) -> str:
    """The first non-blank line, cut at `limit` characters with an ellipsis."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


def stage_name(stage: str | None) -> str:
    return STAGE_NAMES.get(stage or "", (stage or "").replace("_", " "))


def status_name(status: str | None) -> str:
    """in_review → "In review"; any status, including ones this module has not heard of."""
    text = (status or "").replace("_", " ")
    return text[:1].upper() + text[1:]


def closed_reason(
    *, status: str, stage: str = "", reason: str = "", rejected_by: str | None = None
) -> str:
    """Why a proposal is where it is, in one line, or "" for one that is simply in progress.

    A person's rejection names the person ("Rejected by rita: …"); a test-gate failure's reason
    already reads "Test failed: <test>"; other closings say their stage or status.
    """
    why = first_line(reason)
    if status == "rejected":
        if rejected_by:
            return f"Rejected by {rejected_by}: {why}" if why else f"Rejected by {rejected_by}"
        if stage == "test_gate" and why.startswith("Test failed"):
            return why
        if stage == "apply":
            return f"Could not apply: {why}" if why else "Could not apply"
        where = stage_name(stage)
        prefix = f"Rejected at the {where}" if where else "Rejected"
        return f"{prefix}: {why}" if why else prefix
    if status in ("testing", "in_review", "applied", ""):
        return ""
    # withdrawn, and what later issues add (stale, superseded, changes_requested, …)
    return f"{status_name(status)}: {why}" if why else status_name(status)


def ago(seconds: float) -> str:
    """12 s ago, 5 min ago, 3 h ago, 2 d ago (console.js words it the same way)."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"
