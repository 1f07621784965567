"""One spelling per stage and one sentence per closing reason, whatever the status."""

from __future__ import annotations

from console.wording import ago, closed_reason, first_line, stage_name, status_name


def test_stages_have_one_spelling():
    assert [stage_name(s) for s in ("test_gate", "audit_gate", "apply")] == [
        "test gate", "audit gate", "apply",
    ]  # fmt: skip


def test_a_persons_rejection_names_them_and_the_first_line_of_their_reason():
    why = closed_reason(status="rejected", stage="audit_gate", reason="Too rude.\nMore.",
                        rejected_by="rita")  # fmt: skip
    assert why == "Rejected by rita: Too rude."


def test_automatic_closings_say_their_stage_or_status():
    assert closed_reason(status="rejected", stage="test_gate", reason="Test failed: x") == (
        "Test failed: x"
    )
    assert closed_reason(status="rejected", stage="audit_gate", reason="blocked") == (
        "Rejected at the audit gate: blocked"
    )
    assert closed_reason(status="rejected", stage="apply", reason="key revoked") == (
        "Could not apply: key revoked"
    )
    assert closed_reason(status="withdrawn") == "Withdrawn"
    # Statuses this module has not heard of read sensibly too (stale, superseded).
    assert closed_reason(status="stale", reason="target moved to v4") == "Stale: target moved to v4"
    assert closed_reason(status="superseded") == "Superseded"
    assert closed_reason(status="in_review") == "" and closed_reason(status="applied") == ""


def test_first_line_skips_blank_lines_and_cuts_long_ones():
    assert first_line("\n\n  Hello.  \nWorld") == "Hello."
    assert first_line("x" * 500, limit=10) == "x" * 9 + "…"
    assert first_line(None) == ""
    assert status_name("changes_requested") == "Changes requested"


def test_ago_words_the_age_like_the_browser_does():
    assert [ago(s) for s in (5, 125, 7300, 200000)] == [
        "5 s ago",
        "2 min ago",
        "2 h ago",
        "2 d ago",
    ]
