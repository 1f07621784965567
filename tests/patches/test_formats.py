"""The formats' public API: normalize content, apply a patch with its inverse, make a patch."""

from __future__ import annotations

import json

import pytest

from patches.formats import (
    Applied,
    PatchError,
    apply_patch,
    content_hash,
    make_patch,
    normalize_content,
)

PROMPT = "Hello {name}.\nBe polite.\n"
ROUTING = {"default": "general", "threshold": 1.0, "routes": {"billing": {"weight": 1.0, "keywords": {"invoice": 2.0}}}}  # fmt: skip
ROUTING_TEXT = json.dumps(ROUTING, indent=2)


def stored_routing() -> str:
    return normalize_content(patch_type="Routing", raw=ROUTING_TEXT)


def test_text_content_is_stored_as_is():
    raw = "a\r\nb  \n\n"
    assert normalize_content(patch_type="Prompt", raw=raw) == raw


def test_json_content_is_stored_as_canonical_text():
    stored = stored_routing()
    assert stored.startswith('{"default":"general","routes":{"billing":{"keywords":{"invoice":2}')
    assert content_hash(stored).startswith("sha256:") and len(content_hash(stored)) == 71


@pytest.mark.parametrize(
    ("patch_type", "raw", "message"),
    [
        ("Routing", '{"default": 1, "routes": {}}', "Routing shape at /default"),
        ("Config", '{"a": 1, "a": 2}', "duplicate key"),
        ("Config", "[1e400]", "out of range"),
        ("Config", '{"n": 9007199254740993}', "cannot canonicalize"),
        ("Config", '{"s": "\\ud800"}', "cannot canonicalize"),
        ("Prompt", "a\x00b", "NUL character"),
        ("Prompt", "a\ud800b", "not valid Unicode"),
        ("Yaml", "a: 1", "unknown patch type 'Yaml'"),
    ],
)
def test_content_that_cannot_be_stored_is_refused_with_a_reason(patch_type, raw, message):
    with pytest.raises(PatchError) as caught:
        normalize_content(patch_type=patch_type, raw=raw)
    assert message in str(caught.value)


def test_a_text_patch_applies_and_its_inverse_restores_the_base():
    patch = make_patch(content_kind="text", old=PROMPT, new=PROMPT.replace("polite", "kind"))
    applied = apply_patch(patch_type="Prompt", base=PROMPT, patch=patch)
    assert applied == Applied(
        content="Hello {name}.\nBe kind.\n", inverse_patch=applied.inverse_patch
    )
    undone = apply_patch(patch_type="Prompt", base=applied.content, patch=applied.inverse_patch)
    assert undone.content == PROMPT


def test_a_json_patch_applies_shape_checked_and_its_inverse_restores_canonical_bytes():
    base = stored_routing()
    patch = '[{"op": "replace", "path": "/threshold", "value": 2.5}]'
    applied = apply_patch(patch_type="Routing", base=base, patch=patch)
    assert json.loads(applied.content)["threshold"] == 2.5
    undone = apply_patch(patch_type="Routing", base=applied.content, patch=applied.inverse_patch)
    assert undone.content == base


def test_a_json_patch_whose_result_breaks_the_shape_or_schema_never_applies():
    base = stored_routing()
    with pytest.raises(PatchError) as caught:
        apply_patch(
            patch_type="Routing", base=base,
            patch='[{"op": "replace", "path": "/routes/billing/weight", "value": -1}]',
        )  # fmt: skip
    assert "Routing shape at /routes/billing/weight" in str(caught.value)
    schema = {"type": "object", "properties": {"threshold": {"maximum": 2}}}
    with pytest.raises(PatchError) as caught:
        apply_patch(
            patch_type="Routing", base=base, schema=schema,
            patch='[{"op": "replace", "path": "/threshold", "value": 3}]',
        )  # fmt: skip
    assert "target schema at /threshold" in str(caught.value)


def test_a_json_patch_producing_an_unrepresentable_number_is_refused():
    with pytest.raises(PatchError) as caught:
        apply_patch(
            patch_type="Config", base="{}",
            patch='[{"op": "add", "path": "/n", "value": 9007199254740993}]',
        )  # fmt: skip
    assert "not representable" in str(caught.value)


@pytest.mark.parametrize(
    ("patch_type", "base", "patch"),
    [
        ("Prompt", "a\n", "@@ -1 +1 @@\n-a\n+a\n"),
        ("Config", '{"a":1}', '[{"op": "replace", "path": "/a", "value": 1.0}]'),
        ("Config", '{"a":1}', "[]"),
    ],
)
def test_a_patch_that_changes_nothing_is_refused(patch_type, base, patch):
    with pytest.raises(PatchError) as caught:
        apply_patch(patch_type=patch_type, base=base, patch=patch)
    assert "changes nothing" in str(caught.value)


def test_make_patch_for_equal_contents_is_empty():
    assert make_patch(content_kind="text", old="x\n", new="x\n") == ""
    assert make_patch(content_kind="json", old='{"a":1}', new='{"a": 1.0}') == "[]"


def test_a_patch_smuggling_a_nul_into_text_content_is_refused():
    with pytest.raises(PatchError) as caught:
        apply_patch(patch_type="Prompt", base="a\n", patch="@@ -1 +1 @@\n-a\n+\x00\n")
    assert "NUL character" in str(caught.value)
