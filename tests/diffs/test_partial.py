"""templates/console/diff.html: escaping, mode links, collapse markers, the load-the-rest control."""

from __future__ import annotations

import re

import pytest

from console.diffs import build_diff, describe_json_patch
from tests.diffs.conftest import render, rendered

HOSTILE_OLD = "# Prompt\nBe kind.\nSay hello.\n"
HOSTILE_NEW = (
    "# Prompt\n"
    "Be kind. <script>alert(1)</script>\n"
    '<img src=x onerror="alert(2)">\n'
    "[click](javascript:alert(3))\n"
    "Say hello.\n"
)


@pytest.mark.parametrize("mode", ["unified", "split"])
@pytest.mark.parametrize("language", ["text", "markdown", "json"])
def test_agent_text_is_escaped_in_both_modes(mode: str, language: str) -> None:
    html = rendered(HOSTILE_OLD, HOSTILE_NEW, language=language, mode=mode)
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html or "&lt;</span><span" in html
    # onerror= and javascript: survive only as text inside escaped markup, never as attributes.
    assert not re.search(r"<[^>]*\sonerror=", html)
    assert not re.search(r"""(href|src)=["']?javascript:""", html)
    assert 'data-testid="diff"' in html


@pytest.mark.parametrize("mode", ["unified", "split"])
def test_json_patch_operation_lines_are_escaped(mode: str) -> None:
    base = {"tools": []}
    patch = '[{"op": "add", "path": "/tools/-", "value": "<script>alert(1)</script>"}]'
    diff = build_diff(
        old='{"tools":[]}',
        new='{"tools":["<script>alert(1)</script>"]}',
        language="json",
        mode=mode,
        operations=describe_json_patch(base, patch),
    )
    html = render(diff)
    assert "<script" not in html
    assert "add /tools/-: &quot;&lt;script&gt;" in html


def test_the_root_carries_the_id_testid_and_mode() -> None:
    html = rendered("a\n", "b\n", mode="split")
    assert re.search(
        r'<div id="diff" class="diff diff-split" data-testid="diff" data-mode="split"', html
    )


def test_mode_links_work_as_plain_links_and_as_htmx_swaps_of_the_diff() -> None:
    html = rendered("a\n", "b\n")
    for mode in ("unified", "split"):
        assert (
            f'href="?mode={mode}" hx-get="?mode={mode}" hx-target="#diff" hx-swap="outerHTML"'
            in html
        )
    assert (
        'href="?mode=unified" hx-get="?mode=unified" hx-target="#diff" hx-swap="outerHTML" hx-push-url="true" aria-current="true"'
        in html
    )


def test_unchanged_runs_collapse_behind_show_n_more_lines() -> None:
    old = "".join(f"line {n}\n" for n in range(1, 41))
    new = old.replace("line 20\n", "line twenty\n")
    html = rendered(old, new, context=3)
    # Lines 1-16 and 24-40 are hidden; 17-19 and 21-23 are context.
    assert "<summary>show 16 more lines</summary>" in html
    assert "<summary>show 17 more lines</summary>" in html
    assert html.count("<details") == 2
    assert html.count('class="dr ') == 41


def test_a_single_collapsed_line_reads_in_the_singular() -> None:
    old = "".join(f"line {n}\n" for n in range(1, 6))
    html = rendered(old, old.replace("line 5\n", "line five\n"), context=3)
    assert "<summary>show 1 more line</summary>" in html


def test_line_numbers_appear_in_the_rows() -> None:
    html = rendered("a\nb\nc\n", "a\nB\nc\n", mode="split")
    assert '<div class="dr dr-replace"><span class="dn">2</span><code class="dl dl-old">' in html
    assert '<span class="dn">2</span><code class="dl dl-new">' in html


def test_a_big_diff_renders_its_first_part_with_a_load_the_rest_control() -> None:
    old = "".join(f"old {n}\n" for n in range(3000))
    new = "".join(f"new {n}\n" for n in range(3000))
    html = rendered(old, new, mode="split")
    assert html.count('class="dr ') == 2000
    assert "1000 more rows not shown." in html
    assert 'href="?mode=split&amp;diff_offset=2000"' in html
    assert 'hx-get="?mode=split&amp;diff_offset=2000"' in html
    assert 'href="?mode=split&amp;full=1"' in html


def test_a_later_part_links_back_to_the_start() -> None:
    old = "".join(f"old {n}\n" for n in range(3000))
    new = "".join(f"new {n}\n" for n in range(3000))
    html = rendered(old, new, offset=2000)
    assert "Showing rows from 2001 of 6000." in html
    assert html.count('class="dr ') == 2000


def test_identical_texts_say_there_are_no_changes() -> None:
    assert "No changes." in rendered("a\n", "a\n")


def test_the_partial_uses_no_inline_styles_or_scripts() -> None:
    html = rendered(HOSTILE_OLD, HOSTILE_NEW, language="markdown")
    assert "style=" not in html
    assert "<script" not in html


@pytest.mark.parametrize("mode", ["unified", "split"])
def test_crlf_and_missing_final_newline_texts_render(mode: str) -> None:
    html = rendered(
        "one\r\ntwo\r\nthree", "one\r\ntwo\r\nthree\r\n", language="markdown", mode=mode
    )
    assert "\r" not in html
    assert html.count('title="CRLF line ending"') >= 3
    assert "No newline at end of file" in html
    assert html.count('class="dr dr-') == (4 if mode == "unified" else 3)


def test_the_diff_package_imports_no_orm() -> None:
    from pathlib import Path

    import console.diffs

    package = Path(console.diffs.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text()
        assert "django.db" not in text and "models" not in text, source.name


def test_unchanged_runs_too_big_to_embed_link_to_the_whole_diff() -> None:
    old = "".join(f"line {n}\n" for n in range(30_000))
    html = rendered(old, old.replace("line 29990\n", "changed\n"), mode="split")
    assert "29987 unchanged lines not shown." in html
    assert 'href="?mode=split&amp;full=1"' in html
    assert html.count('class="dr ') < 100
