"""Syntax highlighting of diff lines: Pygments tokens split into escaped per-line HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher
from functools import lru_cache

from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer, inherit
from pygments.lexers import JsonLexer, MarkdownLexer
from pygments.token import STANDARD_TYPES, Text, _TokenType

# Class names carry this prefix so static/console/pygments.css never clashes with our own CSS.
CLASS_PREFIX = "pg-"
CSS_SCOPE = ".diff-code"
# GitHub's valve: lines this long are shown plain (lexing and word matching them is slow).
MAX_HIGHLIGHT_CHARS = 500

# A line as (css class, text) pieces; the class is "" for plain text.
Tokens = list[tuple[str, str]]
# Changed character ranges [start, end) of one line, found by the word diff.
Marks = list[tuple[int, int]]

# Numbers count as one word, so 0.3 → 0.45 marks the whole number, not just its digits.
_WORD = re.compile(r"\d+(?:\.\d+)*|\w+|\s+|[^\w\s]")


class ProseMarkdownLexer(MarkdownLexer):
    """Pygments' Markdown lexer, with a first rule that takes runs of plain words at once.

    The stock lexer tries every inline rule at every word, which makes long prompts slow. A
    word without any Markdown punctuation, followed by spaces, is plain text under every one
    of those rules, and taking it leaves the lexer at the next word start, where it would have
    been anyway; so the tokens' classes are the same (tests compare them character by character).
    """

    tokens = {"inline": [(r"(?:[^\s\\`*_~@#\[\]!]+[ \t]+)+", Text), inherit]}


def lexer_for(language: str) -> Lexer | None:
    """The Pygments lexer of a diff language, or None for plain text."""
    # stripnl=False keeps leading blank lines, so token lines stay aligned with our lines.
    if language == "markdown":
        return ProseMarkdownLexer(stripnl=False, ensurenl=True)
    if language == "json":
        return JsonLexer(stripnl=False, ensurenl=True)
    return None


@lru_cache(maxsize=512)
def _css_class(ttype: _TokenType) -> str:
    # Subtypes the style does not know fall back to their nearest standard parent's class.
    while ttype not in STANDARD_TYPES and ttype.parent is not None:
        ttype = ttype.parent
    short = STANDARD_TYPES.get(ttype, "")
    # Plain whitespace needs no span; leaving it out keeps big diffs' HTML small.
    return CLASS_PREFIX + short if short and short != "w" else ""


def tokenize_lines(lexer: Lexer | None, lines: Sequence[str]) -> list[Tokens]:
    """Tokens of each line, lexing the lines as one text so multi-line tokens stay right."""
    if lexer is None or not lines:
        return [[("", line)] for line in lines]
    result: list[Tokens] = [[]]
    for ttype, value in lexer.get_tokens("\n".join(lines) + "\n"):
        css = _css_class(ttype)
        parts = value.split("\n")
        for index, part in enumerate(parts):
            if index:
                result.append([])
            if part:
                result[-1].append((css, part))
    # The final newline opens one empty line; anything else means the lexer changed the text.
    if len(result) != len(lines) + 1 or result[-1]:
        return [[("", line)] for line in lines]
    return result[:-1]


def line_html(tokens: Tokens, marks: Sequence[tuple[int, int]] = ()) -> str:
    """Escaped HTML of one line; marked ranges are wrapped in <mark> inside their token spans."""
    if not marks:
        return "".join(
            f'<span class="{css}">{html.escape(text)}</span>' if css else html.escape(text)
            for css, text in tokens
        )
    out: list[str] = []
    position = 0
    mark_index = 0
    for css, text in tokens:
        end = position + len(text)
        pieces: list[tuple[bool, str]] = []
        start = position
        while mark_index < len(marks) and marks[mark_index][0] < end:
            mark_start, mark_end = marks[mark_index]
            if mark_start > start:
                pieces.append((False, text[start - position : mark_start - position]))
                start = mark_start
            stop = min(mark_end, end)
            if stop > start:
                pieces.append((True, text[start - position : stop - position]))
                start = stop
            if mark_end <= end:
                mark_index += 1
            else:
                break
        if start < end:
            pieces.append((False, text[start - position :]))
        body = "".join(
            f"<mark>{html.escape(piece)}</mark>" if marked else html.escape(piece)
            for marked, piece in pieces
        )
        out.append(f'<span class="{css}">{body}</span>' if css else body)
        position = end
    return "".join(out)


def word_marks(old: str, new: str) -> tuple[Marks, Marks]:
    """Character ranges that differ between two paired lines, compared word by word."""
    old_words = _WORD.findall(old)
    new_words = _WORD.findall(new)
    matcher = SequenceMatcher(None, old_words, new_words, autojunk=False)
    old_offsets = _offsets(old_words)
    new_offsets = _offsets(new_words)
    old_marks: Marks = []
    new_marks: Marks = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            old_marks.append((old_offsets[i1], old_offsets[i2]))
        if j2 > j1:
            new_marks.append((new_offsets[j1], new_offsets[j2]))
    # Lines with nothing in common are a rewrite: marking every word would only add noise.
    if not any(tag == "equal" for tag, *_ in matcher.get_opcodes()):
        return [], []
    return old_marks, new_marks


def _offsets(words: Iterable[str]) -> list[int]:
    offsets = [0]
    for word in words:
        offsets.append(offsets[-1] + len(word))
    return offsets


def pygments_css(style: str = "default") -> str:
    """The stylesheet for our token classes (static/console/pygments.css is this, generated)."""
    formatter = HtmlFormatter(style=style, classprefix=CLASS_PREFIX)
    header = "/* Generated by console.diffs.highlight.pygments_css(); do not edit. */\n"
    return header + "\n".join(formatter.get_token_style_defs(CSS_SCOPE)) + "\n"
