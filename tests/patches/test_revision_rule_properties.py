"""Properties of the carried-approval rule (patches.formats.rebase): the same change keeps its
approvals, any other difference drops them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patches.canonical import canonical_text
from patches.formats import apply_patch
from patches.formats.json_patch import make_json_patch
from patches.formats.rebase import (
    SAME_HUNKS,
    SAME_LEAF_CHANGES,
    SAME_RESULT,
    Change,
    same_change_rule,
    text_rebase,
)
from patches.formats.unified_diff import make_unified_diff

WORDS = st.text(alphabet="abcdefgh ", min_size=1, max_size=12)


@st.composite
def documents(draw):  # type: ignore[no-untyped-def]
    """40 distinct lines, a line the change edits (in the first half), a line another applied
    change edits (in the second half, far enough to leave the first change's context alone)."""
    lines = [f"{n:02d} {draw(WORDS)}\n" for n in range(40)]
    changed = draw(st.integers(0, 15))
    elsewhere = draw(st.integers(25, 39))
    return lines, changed, elsewhere, draw(WORDS), draw(WORDS)


def _text_change(base: str, result: str) -> Change:
    return Change(base=base, result=result, patch=make_unified_diff(base, result))


def _replace(lines: list[str], index: int, text: str) -> list[str]:
    copy = list(lines)
    copy[index] = f"{index:02d} {text} (edited)\n"
    return copy


@settings(max_examples=60, deadline=None)
@given(documents())
def test_the_same_change_on_a_newer_base_keeps_its_approvals(doc):  # type: ignore[no-untyped-def]
    lines, changed, elsewhere, text, other = doc
    base = "".join(lines)
    approved = _text_change(base, "".join(_replace(lines, changed, text)))
    newer = "".join(_replace(lines, elsewhere, other))
    rebased = text_rebase(new_base=newer, patch=approved.patch)
    result = apply_patch(patch_type="Prompt", base=newer, patch=rebased).content
    revision = Change(base=newer, result=result, patch=rebased)
    assert same_change_rule(content_kind="text", approved=approved, revision=revision) == SAME_HUNKS
    # And on the same base, the same result bytes (another nonce, another reasoning) keep them.
    again = _text_change(base, approved.result)
    assert same_change_rule(content_kind="text", approved=approved, revision=again) == SAME_RESULT


@settings(max_examples=60, deadline=None)
@given(documents(), WORDS)
def test_one_changed_added_line_drops_the_approvals(doc, different):  # type: ignore[no-untyped-def]
    lines, changed, elsewhere, text, other = doc
    if different == text:
        different = text + "x"
    base = "".join(lines)
    approved = _text_change(base, "".join(_replace(lines, changed, text)))
    newer_lines = _replace(lines, elsewhere, other)
    newer = "".join(newer_lines)
    revision = _text_change(newer, "".join(_replace(newer_lines, changed, different)))
    assert same_change_rule(content_kind="text", approved=approved, revision=revision) is None
    # On the same base too: another result is another change.
    same_base = _text_change(base, "".join(_replace(lines, changed, different)))
    assert same_change_rule(content_kind="text", approved=approved, revision=same_base) is None


@settings(max_examples=60, deadline=None)
@given(documents())
def test_one_more_hunk_drops_the_approvals(doc):  # type: ignore[no-untyped-def]
    lines, changed, elsewhere, text, other = doc
    base = "".join(lines)
    approved = _text_change(base, "".join(_replace(lines, changed, text)))
    newer_lines = _replace(lines, elsewhere, other)
    newer = "".join(newer_lines)
    more = _replace(_replace(newer_lines, changed, text), 20, "one more")
    revision = _text_change(newer, "".join(more))
    assert same_change_rule(content_kind="text", approved=approved, revision=revision) is None


JSON_VALUES = st.one_of(st.integers(-5, 5), st.booleans(), WORDS)


@settings(max_examples=60, deadline=None)
@given(JSON_VALUES, JSON_VALUES, JSON_VALUES, JSON_VALUES)
def test_json_the_same_leaf_changes_keep_and_a_different_value_drops(a, b, c, d):  # type: ignore[no-untyped-def]
    base_value = {"limits": {"retries": 1, "timeout": 5}, "name": "x", "other": 0}
    approved_value = {**base_value, "limits": {"retries": a, "timeout": 5}}
    if canonical_text(approved_value) == canonical_text(base_value):
        approved_value["limits"]["timeout"] = 6
    newer_value = {**base_value, "other": {"c": c}}
    approved = Change(
        base=canonical_text(base_value),
        result=canonical_text(approved_value),
        patch=make_json_patch(base_value, approved_value),
    )
    same = {**newer_value, "limits": approved_value["limits"]}
    revision = Change(
        base=canonical_text(newer_value),
        result=canonical_text(same),
        patch=make_json_patch(newer_value, same),
    )
    rule = same_change_rule(content_kind="json", approved=approved, revision=revision)
    assert rule == SAME_LEAF_CHANGES
    different = {**newer_value, "limits": {**approved_value["limits"], "retries": [a, b, d]}}
    other = Change(
        base=canonical_text(newer_value),
        result=canonical_text(different),
        patch=make_json_patch(newer_value, different),
    )
    assert same_change_rule(content_kind="json", approved=approved, revision=other) is None
