"""Properties of both patch formats: determinism, exact inverses, and made patches that apply."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patches.canonical import canonical, canonical_text
from patches.formats import PatchError, apply_patch, make_patch
from patches.formats.json_patch import apply_json_patch, make_json_patch
from patches.formats.unified_diff import apply_unified_diff, make_unified_diff

BOUNDED = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Lines drawn from a small alphabet, so texts share lines and diffs have context and hunks.
LINE_BODIES = st.sampled_from(
    ["", "a", "b", "c", "{name}", "héllo", "😀 ok", "x\ry", " lead", "\t"]
)
LINE_ENDINGS = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"])


@st.composite
def texts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(st.tuples(LINE_BODIES, LINE_ENDINGS), max_size=30))
    text = "".join(body + ending for body, ending in lines)
    if text and draw(st.booleans()):
        text = text.removesuffix("\n")  # no final newline
    return text


@st.composite
def edited(draw: st.DrawFn) -> tuple[str, str]:
    """A text and a nearby edit of it (lines dropped, added, changed), the common case."""
    old = draw(texts())
    lines = old.split("\n")
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["insert", "delete", "change"]))
        body = draw(LINE_BODIES)
        if action == "insert" or position == len(lines):
            lines.insert(position, body)
        elif action == "delete":
            del lines[position]
        else:
            lines[position] = body
    return old, "\n".join(lines)


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=15,
)
JSON_OBJECTS = st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=6)


@BOUNDED
@given(pair=st.one_of(st.tuples(texts(), texts()), edited()))
def test_a_made_diff_applies_to_the_old_text_giving_the_new_one_byte_for_byte(pair):
    old, new = pair
    patch = make_unified_diff(old, new)
    if old == new:
        assert patch == ""
    else:
        assert apply_unified_diff(old, patch) == new


@BOUNDED
@given(pair=edited())
def test_applying_a_text_patch_is_deterministic_and_its_inverse_restores_the_base(pair):
    base, new = pair
    if base == new:
        return
    patch = make_unified_diff(base, new)
    first = apply_patch(patch_type="Prompt", base=base, patch=patch)
    again = apply_patch(patch_type="Prompt", base=base, patch=patch)
    assert first == again
    assert first.content == new
    restored = apply_patch(patch_type="Prompt", base=first.content, patch=first.inverse_patch)
    assert restored.content.encode() == base.encode()
    assert restored.inverse_patch == make_patch(content_kind="text", old=base, new=new)


@BOUNDED
@given(base=texts(), patch=st.text(max_size=200))
def test_arbitrary_patch_text_either_applies_or_raises_patch_error(base, patch):
    try:
        apply_unified_diff(base, "@@ -1 +1 @@\n" + patch)
        apply_unified_diff(base, patch)
    except PatchError:
        pass


@BOUNDED
@given(old=JSON_VALUES, new=JSON_VALUES)
def test_a_made_json_patch_applied_to_a_gives_b(old, new):
    patch = make_json_patch(old, new)
    assert canonical(apply_json_patch(old, patch)) == canonical(new)


@BOUNDED
@given(old=JSON_OBJECTS, new=JSON_OBJECTS)
def test_applying_a_json_patch_is_deterministic_and_its_inverse_restores_canonical_bytes(old, new):
    base = canonical_text(old)
    if base == canonical_text(new):
        return
    patch = make_patch(content_kind="json", old=base, new=json.dumps(new))
    first = apply_patch(patch_type="Config", base=base, patch=patch)
    assert first == apply_patch(patch_type="Config", base=base, patch=patch)
    assert first.content == canonical_text(new)
    restored = apply_patch(patch_type="Config", base=first.content, patch=first.inverse_patch)
    assert restored.content.encode() == canonical(old)


POINTERS = st.sampled_from(
    ["", "/a", "/a/0", "/a/-", "/a/1/b", "/b", "/b/c", "/0", "/-", "/~1", "/a/01", "/~0x"]
)
OPERATIONS = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]), "path": POINTERS},
    optional={"from": POINTERS, "value": JSON_VALUES},
)


@BOUNDED
@given(
    base=st.dictionaries(st.sampled_from(["a", "b", "0", "-"]), JSON_VALUES, max_size=3),
    operations=st.lists(OPERATIONS, max_size=6),
)
def test_arbitrary_json_patches_either_apply_or_raise_patch_error(base, operations):
    try:
        first = apply_json_patch(base, json.dumps(operations))
    except PatchError:
        return
    assert canonical(first) == canonical(apply_json_patch(base, json.dumps(operations)))
