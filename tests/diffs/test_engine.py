"""build_diff: line numbers, collapsing, paging, bounds, JSON pretty-printing, line endings."""

from __future__ import annotations

import json

import pytest

from console.diffs import build_diff, diff_request_options, json_for_diff
from console.diffs.engine import MAX_WORD_DIFF_BLOCK_LINES
from tests.diffs.conftest import rows_of


def numbered(count: int, prefix: str = "line") -> list[str]:
    return [f"{prefix} {n}\n" for n in range(1, count + 1)]


def test_line_numbers_follow_each_side_in_unified_mode() -> None:
    old = "a\nb\nc\nd\n"
    new = "a\nB\nc\nx\nd\n"
    rows = rows_of(build_diff(old=old, new=new, context=10))
    assert [(r.kind, r.old_number, r.new_number) for r in rows] == [
        ("equal", 1, 1),
        ("delete", 2, None),
        ("insert", None, 2),
        ("equal", 3, 3),
        ("insert", None, 4),
        ("equal", 4, 5),
    ]


def test_split_mode_pairs_changed_lines_and_pads_the_shorter_side() -> None:
    old = "a\nb\nc\n"
    new = "a\nB\nC\nD\n"
    rows = rows_of(build_diff(old=old, new=new, mode="split", context=10))
    assert [(r.kind, r.old_number, r.new_number) for r in rows] == [
        ("equal", 1, 1),
        ("replace", 2, 2),
        ("replace", 3, 3),
        ("insert", None, 4),
    ]
    assert rows[3].old_html == ""


def test_long_unchanged_runs_collapse_keeping_context_on_each_side() -> None:
    old_lines = numbered(30)
    new_lines = list(old_lines)
    new_lines[0] = "first changed\n"
    new_lines[29] = "last changed\n"
    diff = build_diff(old="".join(old_lines), new="".join(new_lines), context=3)
    collapsed = [block for block in diff.blocks if block.collapsed]
    assert [block.count for block in collapsed] == [30 - 2 - 3 - 3]
    assert collapsed[0].rows[0].old_number == 5  # lines 2-4 are context after the change


def test_a_leading_unchanged_run_collapses_up_to_the_context() -> None:
    old_lines = numbered(20)
    new_lines = [*old_lines[:19], "changed\n"]
    diff = build_diff(old="".join(old_lines), new="".join(new_lines), context=3)
    assert diff.blocks[0].collapsed
    assert diff.blocks[0].count == 16
    assert not diff.blocks[1].collapsed


def test_a_big_diff_shows_its_first_part_and_where_the_rest_starts() -> None:
    old = "".join(numbered(5000))
    new = "".join(numbered(5000, prefix="other"))
    diff = build_diff(old=old, new=new, max_lines=2000)
    assert diff.total_rows == 10_000
    assert diff.shown_rows == 2000
    assert sum(block.count for block in diff.blocks) == 2000
    assert diff.truncated and diff.next_offset == 2000
    assert diff.remaining_rows == 8000
    assert (diff.added, diff.removed) == (5000, 5000)  # stats cover the whole diff

    rest = build_diff(old=old, new=new, max_lines=2000, offset=8000)
    assert not rest.truncated and rest.next_offset is None
    assert rows_of(rest)[-1].new_number == 5000


def test_the_full_option_shows_every_row() -> None:
    options = diff_request_options({"full": "1", "mode": "split"})
    assert options == {"mode": "split", "offset": 0, "max_lines": None}
    old = "".join(numbered(3000))
    diff = build_diff(old=old, new=old.replace("line 7\n", "line seven\n"), **options)
    assert not diff.truncated
    assert sum(block.count for block in diff.blocks) == 3000
    assert all(not block.hidden for block in diff.blocks)


def test_request_options_ignore_bad_values() -> None:
    assert diff_request_options({"mode": "<x>", "diff_offset": "-5"}) == {
        "mode": "unified",
        "offset": 0,
        "max_lines": 2000,
    }
    assert diff_request_options({"diff_offset": "nope"})["offset"] == 0
    assert diff_request_options({"diff_offset": "4000"})["offset"] == 4000


def test_json_for_diff_sorts_keys_and_indents_by_two() -> None:
    assert json_for_diff({"b": 1, "a": {"d": [1], "c": "é"}}) == (
        '{\n  "a": {\n    "c": "é",\n    "d": [\n      1\n    ]\n  },\n  "b": 1\n}\n'
    )


def test_json_sides_are_pretty_printed_so_the_diff_follows_structure() -> None:
    old = json.dumps({"routes": {"billing": {"weight": 0.3}}, "default": "general"})
    new = json.dumps({"routes": {"billing": {"weight": 0.45}}, "default": "general"})
    diff = build_diff(old=old, new=new, language="json", context=10)
    changed = [r for r in rows_of(diff) if r.kind != "equal"]
    assert [(r.kind, r.old_number, r.new_number) for r in changed] == [
        ("delete", 5, None),
        ("insert", None, 5),
    ]
    assert "0.45" in changed[1].new_html
    assert rows_of(diff)[1].new_html.count("default") == 1  # "default" sorts first


def test_text_that_is_not_json_is_shown_as_it_is() -> None:
    diff = build_diff(old="{not json", new="{still not", language="json")
    assert diff.removed == 1 and diff.added == 1


def test_crlf_line_endings_are_compared_and_marked() -> None:
    diff = build_diff(old="a\r\nb\r\n", new="a\r\nb\n")
    rows = rows_of(diff)
    assert [(r.kind, r.old_number, r.new_number) for r in rows] == [
        ("equal", 1, 1),
        ("delete", 2, None),
        ("insert", None, 2),
    ]
    assert "\r" not in rows[1].old_html
    assert "CRLF" in rows[1].old_html and "CRLF" not in rows[2].new_html


def test_a_missing_final_newline_is_a_change_and_is_marked() -> None:
    diff = build_diff(old="a\nb\n", new="a\nb")
    rows = rows_of(diff)
    assert (diff.added, diff.removed) == (1, 1)
    assert "No newline at end of file" in rows[-1].new_html
    assert "No newline" not in rows[-2].old_html


def test_a_lone_carriage_return_stays_inside_its_line() -> None:
    diff = build_diff(old="a\rb\n", new="a\rc\n", language="markdown")
    rows = rows_of(diff)
    assert len(rows) == 2 and "\r" not in rows[0].old_html


def test_empty_and_identical_texts_make_an_empty_diff() -> None:
    assert build_diff(old="", new="").blocks == []
    same = build_diff(old="a\nb\n", new="a\nb\n")
    assert same.identical and same.total_rows == 0
    assert [(block.collapsed, block.count) for block in same.blocks] == [(True, 2)]


def test_adding_content_from_nothing_counts_every_line() -> None:
    diff = build_diff(old="", new="x\ny\n", language="markdown")
    assert (diff.added, diff.removed) == (2, 0)


def test_small_changes_get_word_highlighting() -> None:
    rows = rows_of(build_diff(old="refund up to 500 dollars\n", new="refund up to 800 dollars\n"))
    assert rows[0].old_html == "refund up to <mark>500</mark> dollars"
    assert rows[1].new_html == "refund up to <mark>800</mark> dollars"


def test_word_highlighting_is_skipped_for_blocks_over_the_bound() -> None:
    count = MAX_WORD_DIFF_BLOCK_LINES + 1
    old = "".join(f"value {n} one\n" for n in range(count))
    new = "".join(f"value {n} two\n" for n in range(count))
    diff = build_diff(old=old, new=new, max_lines=None)
    assert diff.words_skipped
    assert all("<mark>" not in row.html for row in rows_of(diff))


def test_word_highlighting_is_skipped_for_long_lines() -> None:
    long_old = "word " * 120 + "end\n"
    long_new = "word " * 120 + "finish\n"
    diff = build_diff(old=long_old, new=long_new, language="markdown")
    assert diff.words_skipped
    assert all("<mark>" not in row.html for row in rows_of(diff))


def test_long_lines_are_not_syntax_highlighted() -> None:
    long_line = "# " + "heading " * 80 + "\n"
    diff = build_diff(
        old="# short\n" + long_line, new="# short!\n" + long_line, language="markdown"
    )
    rows = rows_of(diff)
    assert 'class="pg-' in rows[0].old_html  # the short heading is highlighted
    assert rows[-1].new_html == long_line.rstrip("\n")  # the long one is plain escaped text


def test_markdown_lines_are_highlighted_with_the_fixed_class_prefix() -> None:
    rows = rows_of(
        build_diff(old="# Title\n", new="# Title\n- **bold** item\n", language="markdown")
    )
    assert '<span class="pg-gh"># Title</span>' in rows[0].new_html
    assert 'class="pg-gs"' in rows[1].new_html


def test_unknown_language_or_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        build_diff(old="", new="", language="python")
    with pytest.raises(ValueError, match="mode"):
        build_diff(old="", new="", mode="sideways")


def test_lines_inside_a_fenced_block_are_highlighted_as_code_on_both_sides() -> None:
    old = "intro\n```\nx = 1\ny = 2\n```\noutro\n"
    new = "intro\n```\nx = 1\ny = 3\n```\noutro\n"
    rows = rows_of(build_diff(old=old, new=new, language="markdown"))
    changed = {row.kind: row for row in rows if row.kind != "equal"}
    assert changed["delete"].old_html.startswith('<span class="pg-sb">y = ')
    assert changed["insert"].new_html.startswith('<span class="pg-sb">y = ')


def test_collapsed_lines_do_not_use_up_the_row_budget() -> None:
    old_lines = numbered(10_000)
    new_lines = list(old_lines)
    new_lines[7000] = "the one change\n"
    diff = build_diff(old="".join(old_lines), new="".join(new_lines), max_lines=2000)
    assert not diff.truncated
    assert diff.total_rows == 2 + 2 * 3
    changed = [row for row in rows_of(diff) if row.kind != "equal"]
    assert [(row.old_number, row.new_number) for row in changed] == [(7001, None), (None, 7001)]


def test_huge_unchanged_runs_are_counted_not_embedded_unless_all_is_asked_for() -> None:
    old_lines = numbered(30_000)
    new_lines = list(old_lines)
    new_lines[25_000] = "the one change\n"
    old, new = "".join(old_lines), "".join(new_lines)
    paged = build_diff(old=old, new=new)
    assert [(b.collapsed, b.hidden) for b in paged.blocks] == [
        (True, 24_997),
        (False, 0),
        (True, 0),
    ]
    assert paged.blocks[0].rows == [] and paged.blocks[2].count == 4996
    full = build_diff(old=old, new=new, max_lines=None)
    assert all(not block.hidden for block in full.blocks)
    assert sum(block.count for block in full.blocks) == 30_001


def test_paging_covers_every_row_once() -> None:
    old_lines = numbered(400)
    new_lines = [line if n % 10 else line.upper() for n, line in enumerate(old_lines)]
    old, new = "".join(old_lines), "".join(new_lines)
    whole = build_diff(old=old, new=new, max_lines=None, context=1)
    seen = []
    offset: int | None = 0
    for _ in range(100):
        if offset is None:
            break
        part = build_diff(old=old, new=new, max_lines=37, offset=offset, context=1)
        seen.extend((row.kind, row.old_number, row.new_number) for row in rows_of(part))
        offset = part.next_offset
    assert seen == [(row.kind, row.old_number, row.new_number) for row in rows_of(whole)]
