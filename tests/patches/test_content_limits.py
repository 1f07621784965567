"""Patch work is bounded by size: copies count string and key lengths, and the patched content
has a byte limit checked before it is canonicalized."""

from __future__ import annotations

import json

import pytest

import patches.formats as formats
from patches.formats import ContentTooLarge, PatchError, apply_patch, check_patch
from patches.formats.json_patch import MAX_CONTENT_BYTES, apply_json_patch

BASE = json.dumps({"name": "config"})


def copy_bomb(size: int, copies: int) -> str:
    """One `add` of a big string, then many `copy` of it: a few nodes, a huge document."""
    operations = [{"op": "add", "path": "/s", "value": "x" * size}]
    operations += [{"op": "copy", "from": "/s", "path": f"/c{n}"} for n in range(copies)]
    return json.dumps(operations)


def test_copying_one_big_string_many_times_is_refused_for_the_bytes_it_copies():
    with pytest.raises(PatchError) as caught:
        apply_json_patch({}, copy_bomb(90_000, 1_000))
    assert f"copies more than {MAX_CONTENT_BYTES} bytes" in str(caught.value)
    assert caught.value.location.startswith("operation ")


def test_long_keys_count_against_the_copy_budget_too():
    wide = {f"{n:07d}" + "k" * 10_000: 0 for n in range(10)}  # 100 kB of keys, 11 nodes
    operations = [{"op": "add", "path": "/w", "value": wide}]
    operations += [{"op": "copy", "from": "/w", "path": f"/c{n}"} for n in range(100)]
    with pytest.raises(PatchError, match="copies more than 1000000 bytes"):
        apply_json_patch({}, json.dumps(operations), max_bytes=1_000_000)


def test_a_few_copies_within_the_budget_still_apply():
    result = apply_json_patch({}, copy_bomb(10_000, 5), max_bytes=100_000)
    assert result["c4"] == "x" * 10_000


@pytest.mark.parametrize("patch_type", ["Config", "Prompt"])
def test_patched_content_over_the_limit_is_refused_naming_the_limit(patch_type):
    if patch_type == "Config":
        base, patch = BASE, json.dumps([{"op": "add", "path": "/big", "value": "y" * 5_000}])
    else:
        base = "line\n"
        patch = "--- a\n+++ b\n@@ -1,1 +1,2 @@\n line\n+" + "y" * 5_000 + "\n"
    with pytest.raises(ContentTooLarge) as caught:
        check_patch(patch_type=patch_type, base=base, patch=patch, max_content_bytes=4_096)
    assert caught.value.limit == 4_096
    assert "4096 bytes" in str(caught.value)


def test_the_content_limit_is_exact_in_canonical_bytes():
    # {"name":"config","v":"…"}: 24 bytes of JSON around the string, é is two bytes.
    patch = json.dumps([{"op": "add", "path": "/v", "value": "é" * 100}])
    content = check_patch(patch_type="Config", base=BASE, patch=patch, max_content_bytes=224)
    assert len(content.encode("utf-8")) == 224
    with pytest.raises(ContentTooLarge):
        check_patch(patch_type="Config", base=BASE, patch=patch, max_content_bytes=223)


def test_an_oversized_document_is_refused_before_it_is_canonicalized(monkeypatch):
    sizes: list[int] = []
    real = formats.canonical_text

    def spying(value):
        text = real(value)
        sizes.append(len(text))
        return text

    monkeypatch.setattr(formats, "canonical_text", spying)
    with pytest.raises(ContentTooLarge):
        apply_patch(
            patch_type="Config",
            base=BASE,
            patch=copy_bomb(1_000, 50),
            max_content_bytes=20_000,
        )
    assert all(size < 20_000 for size in sizes)
