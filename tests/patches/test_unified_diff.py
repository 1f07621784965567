"""Strict unified diffs: exact application, precise errors, and the output of real diff tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from patches.formats.errors import PatchError
from patches.formats.unified_diff import (
    MAX_PATCH_LINES,
    apply_unified_diff,
    make_unified_diff,
    split_lines,
)

BASE = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n"


def error_of(base: str, patch: str) -> str:
    with pytest.raises(PatchError) as caught:
        apply_unified_diff(base, patch)
    return str(caught.value)


# --- applying -------------------------------------------------------------------------------


def test_it_applies_a_hunk_with_headers_and_section_text():
    patch = (
        "diff --git a/prompt.md b/prompt.md\n"
        "index 3b18e51..a2c5b1f 100644\n"
        "--- a/prompt.md\n"
        "+++ b/prompt.md\n"
        "@@ -2,3 +2,3 @@ one\n"
        " two\n"
        "-three\n"
        "+THREE\n"
        " four\n"
    )
    assert apply_unified_diff(BASE, patch) == BASE.replace("three", "THREE")


def test_it_applies_several_hunks_in_order():
    patch = "@@ -1,2 +1,3 @@\n one\n+one and a half\n two\n@@ -9,2 +10,1 @@\n nine\n-ten\n"
    assert apply_unified_diff(BASE, patch) == BASE.replace(
        "one\n", "one\none and a half\n"
    ).replace("ten\n", "")


def test_counts_default_to_one_when_omitted():
    assert apply_unified_diff("a\n", "@@ -1 +1 @@\n-a\n+b\n") == "b\n"


def test_it_adds_text_to_an_empty_base():
    assert apply_unified_diff("", "--- /dev/null\n+++ b/x\n@@ -0,0 +1,2 @@\n+a\n+b\n") == "a\nb\n"


def test_it_deletes_everything():
    assert apply_unified_diff("a\nb\n", "@@ -1,2 +0,0 @@\n-a\n-b\n") == ""


def test_it_inserts_after_a_line_with_zero_context():
    assert apply_unified_diff("a\nb\n", "@@ -1,0 +2 @@\n+x\n") == "a\nx\nb\n"
    assert apply_unified_diff("a\nb\n", "@@ -0,0 +1 @@\n+x\n") == "x\na\nb\n"
    assert apply_unified_diff("a\nb\n", "@@ -2,0 +3 @@\n+x\n") == "a\nb\nx\n"


def test_it_removes_the_final_newline():
    patch = "@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n"
    assert apply_unified_diff("a\nb\n", patch) == "a\nb"


def test_it_adds_a_final_newline():
    patch = "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
    assert apply_unified_diff("a\nb", patch) == "a\nb\n"


def test_it_keeps_a_context_line_without_final_newline():
    patch = "@@ -1,2 +1,3 @@\n a\n+x\n b\n\\ No newline at end of file\n"
    assert apply_unified_diff("a\nb", patch) == "a\nx\nb"


def test_it_preserves_crlf_line_endings():
    base = "a\r\nb\r\nc\r\n"
    patch = "@@ -1,3 +1,3 @@\n a\r\n-b\r\n+B\r\n c\r\n"
    assert apply_unified_diff(base, patch) == "a\r\nB\r\nc\r\n"


def test_a_blank_line_stands_for_an_empty_context_line_whose_space_was_stripped():
    assert apply_unified_diff("a\n\nb\n", "@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n") == "a\n\nc\n"


def test_blank_lines_after_the_last_hunk_are_ignored():
    assert apply_unified_diff("a\n", "@@ -1 +1 @@\n-a\n+b\n\n\n") == "b\n"


def test_it_splits_lines_on_newline_only():
    text = "a\rb\x0bc\x1cd\u2028e\u0085f\n"
    assert split_lines(text) == [text]
    patch = make_unified_diff(text, "x\n")
    assert apply_unified_diff(text, patch) == "x\n"


def test_it_never_modifies_the_base_it_is_given():
    base = "a\nb\n"
    apply_unified_diff(base, "@@ -1 +1 @@\n-a\n+z\n")
    assert base == "a\nb\n"


# --- refusing -------------------------------------------------------------------------------


def test_it_names_the_hunk_and_line_where_the_base_differs():
    patch = "@@ -1,1 +1,1 @@\n-one\n+ONE\n@@ -10,1 +10,2 @@\n-tin\n+ten\n+eleven\n"
    assert error_of(BASE, patch) == (
        "hunk 2 (@@ -10,1 +10,2 @@): line 10 expected 'tin' but base has 'ten'"
    )


def test_it_applies_no_fuzz_and_no_offset():
    # "three" is at line 3; a hunk that says line 4 does not apply there or anywhere near.
    assert "line 4 expected 'three' but base has 'four'" in error_of(
        BASE, "@@ -4 +4 @@\n-three\n+THREE\n"
    )


def test_a_crlf_line_does_not_match_a_patch_line_without_its_carriage_return():
    message = error_of("a\r\nb\r\n", "@@ -1 +1 @@\n-a\n+x\n")
    assert "line 1 expected 'a' but base has 'a\\r'" in message


def test_it_tells_a_missing_final_newline_apart():
    message = error_of("a", "@@ -1 +1 @@\n-a\n+b\n")
    assert "expected 'a' but base has 'a' (no newline at end of file)" in message


def test_it_refuses_a_patch_without_hunks():
    assert error_of("a\n", "").startswith("patch has no hunks")
    assert error_of("a\n", "--- a\n+++ b\n").startswith("patch has no hunks")


def test_it_refuses_text_that_is_not_a_diff():
    assert error_of("a\n", "Please make the prompt friendlier.\n").startswith("patch has no hunks")
    assert "malformed hunk header" in error_of("a\n", "@@ line one @@\n-a\n")


def test_it_refuses_header_counts_that_promise_more_lines_than_the_body_has():
    message = error_of("a\nb\n", "@@ -1,2 +1,2 @@\n-a\n+b\n")
    assert "hunk 1 (@@ -1,2 +1,2 @@): the patch ends inside the hunk" in message


def test_it_refuses_a_body_with_more_lines_than_the_header_counts():
    message = error_of("a\nb\n", "@@ -1 +1 @@\n-a\n+x\n b\n")
    assert "unexpected line ' b' after the hunk" in message
    assert "more new lines than the header counts" in error_of(
        "a\nb\n", "@@ -1,2 +1 @@\n-a\n+x\n+y\n-b\n"
    )


def test_it_refuses_hunks_out_of_order_or_overlapping():
    patch = "@@ -5 +5 @@\n-five\n+5\n@@ -2 +2 @@\n-two\n+2\n"
    assert "hunk 2 (@@ -2 +2 @@): it starts at line 2, inside or before" in error_of(BASE, patch)
    overlapping = "@@ -1,2 +1,2 @@\n one\n-two\n+2\n@@ -2 +2 @@\n-two\n+2\n"
    assert "inside or before the previous hunk" in error_of(BASE, overlapping)


def test_it_refuses_a_new_side_start_that_does_not_follow_from_the_hunks_before_it():
    patch = "@@ -1 +1,2 @@\n one\n+x\n@@ -5 +5 @@\n-five\n+5\n"
    assert "the new side starts at line 5 but the hunks before it put it at line 6" in error_of(
        BASE, patch
    )


def test_it_refuses_a_hunk_beyond_the_end_of_the_base():
    assert "the base has 2 lines" in error_of("a\nb\n", "@@ -3 +3 @@\n-c\n+d\n")
    assert "inserts after line 5 but the base has 2 lines" in error_of(
        "a\nb\n", "@@ -5,0 +6 @@\n+x\n"
    )


def test_it_refuses_a_patch_for_more_than_one_file():
    patch = (
        "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
        "diff --git a/y b/y\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n"
    )
    assert "more than one file" in error_of("a\n", patch)


def test_it_refuses_binary_patches():
    assert "binary" in error_of("a\n", "diff --git a/x b/x\nBinary files a/x and b/x differ\n")


def test_it_refuses_a_patch_that_ends_in_the_middle_of_a_line():
    assert "ends in the middle of line '+b'" in error_of("a\n", "@@ -1 +1 @@\n-a\n+b")


def test_it_refuses_a_no_newline_marker_in_the_middle_of_the_text():
    patch = "@@ -1,2 +1,2 @@\n-a\n+x\n\\ No newline at end of file\n b\n"
    assert "follows the new side's last line" in error_of("a\nb\n", patch)
    assert "must follow a line" in error_of("a\n", "@@ -1 +1 @@\n\\ No newline at end of file\n")


def test_it_refuses_to_add_lines_after_a_base_line_without_newline():
    assert "must stay the last line" in error_of("a", "@@ -1,0 +2 @@\n+b\n")


def test_it_refuses_an_empty_hunk_and_line_zero_with_lines():
    assert "the hunk has no lines" in error_of("a\n", "@@ -0,0 +0,0 @@\n")
    assert "line numbers start at 1" in error_of("a\n", "@@ -0,1 +0,1 @@\n-a\n+b\n")


def test_it_refuses_absurd_counts_and_huge_patches_without_running_out_of_memory():
    message = error_of("a\n", "@@ -1,999999999 +1,999999999 @@\n-a\n")
    assert f"at most {MAX_PATCH_LINES}" in message
    assert "malformed hunk header" in error_of("a\n", "@@ -1," + "9" * 5000 + " +1 @@\n-a\n")
    huge = "@@ -1 +1 @@\n-a\n" + "+x\n" * (MAX_PATCH_LINES + 1)
    assert f"more than {MAX_PATCH_LINES} lines" in error_of("a\n", huge)


# --- making ---------------------------------------------------------------------------------


def test_make_writes_headers_and_three_lines_of_context():
    old = "".join(f"line {n}\n" for n in range(1, 21))
    new = old.replace("line 10\n", "line ten\n")
    assert make_unified_diff(old, new) == (
        "--- a\n+++ b\n@@ -7,7 +7,7 @@\n line 7\n line 8\n line 9\n"
        "-line 10\n+line ten\n line 11\n line 12\n line 13\n"
    )


def test_make_marks_missing_final_newlines():
    patch = make_unified_diff("a\nb", "a\nc")
    assert patch.endswith("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n")
    assert apply_unified_diff("a\nb", patch) == "a\nc"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", "a"),
        ("a", ""),
        ("", "\n"),
        ("\n", ""),
        ("a\r\nb\r\n", "a\r\nc\r\n"),
        ("a\r\nb", "a\nb\r\n"),
        ("x\ry\rz", "x\ry\n"),
        ("héllo wörld 😀\n", "héllo wörld 😀 ✓\n"),
        ("\r", "\r\n"),
    ],
)
def test_a_made_diff_turns_old_into_new_byte_for_byte(old, new):
    assert apply_unified_diff(old, make_unified_diff(old, new)) == new


def test_make_returns_an_empty_text_for_equal_texts_which_apply_refuses():
    assert make_unified_diff("same\n", "same\n") == ""
    assert error_of("same\n", "").startswith("patch has no hunks")


# --- real tools -----------------------------------------------------------------------------

CASES = {
    "plain": ("one\ntwo\nthree\n", "one\n2\nthree\nfour\n"),
    "no_final_newline": ("alpha\nbeta", "alpha\nBETA"),
    "newline_added": ("alpha\nbeta", "alpha\nbeta\n"),
    "crlf": ("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\nd\r\n"),
    "from_empty": ("", "new file\n"),
    "to_empty": ("old file\n", ""),
    "unicode": ("Grüße {name}\n" + "x\n" * 12 + "end\n", "Grüße, {name}!\n" + "x\n" * 12 + "END\n"),
}


def _write(directory: Path, old: str, new: str) -> tuple[str, str]:
    directory.mkdir()
    (directory / "old.txt").write_bytes(old.encode("utf-8"))
    (directory / "new.txt").write_bytes(new.encode("utf-8"))
    return "old.txt", "new.txt"


@pytest.mark.parametrize("case", sorted(CASES))
def test_it_applies_what_gnu_diff_writes(tmp_path, case):
    old, new = CASES[case]
    names = _write(tmp_path / case, old, new)
    run = subprocess.run(
        ["diff", "-u", *names], cwd=tmp_path / case, capture_output=True, check=False
    )
    assert run.returncode == 1, run.stderr  # 1 means "the files differ"
    assert apply_unified_diff(old, run.stdout.decode("utf-8")) == new


@pytest.mark.parametrize("case", sorted(CASES))
def test_it_applies_what_git_diff_writes(tmp_path, case):
    old, new = CASES[case]
    names = _write(tmp_path / case, old, new)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}  # fmt: skip
    run = subprocess.run(
        ["git", "-c", "core.quotepath=off", "-c", "core.autocrlf=false", "diff", "--no-index",
         "--no-color", "--no-ext-diff", *names],
        cwd=tmp_path / case, capture_output=True, check=False, env=env,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    patch = run.stdout.decode("utf-8")
    assert patch.startswith("diff --git ")
    assert apply_unified_diff(old, patch) == new


def test_gnu_patch_style_tools_accept_what_make_writes(tmp_path):
    # The diffs we make (inverse patches) are ordinary unified diffs that git can apply too.
    old, new = CASES["no_final_newline"]
    (tmp_path / "a").write_bytes(old.encode())
    (tmp_path / "change.diff").write_text(
        make_unified_diff(old, new).replace("--- a\n+++ b\n", "--- a/a\n+++ b/a\n")
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    run = subprocess.run(
        ["git", "apply", "--unsafe-paths", "--directory=.", "change.diff"],
        cwd=tmp_path, capture_output=True, check=False, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "a").read_bytes() == new.encode()
