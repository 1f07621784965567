"""Highlighting: the fast Markdown lexer matches Pygments', and the stylesheet is current."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from pygments.lexers import MarkdownLexer

from console.diffs import pygments_css
from console.diffs.highlight import ProseMarkdownLexer, _css_class, line_html, tokenize_lines

MARKDOWN = """# Title
Hello *world* and snake_case_word foo#bar @mention #topic end
- item **bold** `code` [link](http://x) ![img](y)
1. one
> quote here
Setext
======
Sub
---
```python
x = 1
```
word ~~strike~~ __b__ _i_ ***bi*** a\\*b [ref][id] trailing
  [id]: http://e
- [x] task done
plain words with {placeholder} and (parens), commas; colons: fine
"""


def classes(lexer: MarkdownLexer, text: str) -> list[str]:
    out: list[str] = []
    for ttype, value in lexer.get_tokens(text):
        out.extend([_css_class(ttype)] * len(value))
    return out


def test_the_prose_lexer_gives_every_character_the_class_pygments_gives_it() -> None:
    text = MARKDOWN * 3
    assert classes(ProseMarkdownLexer(stripnl=False), text) == classes(
        MarkdownLexer(stripnl=False), text
    )


def test_token_lines_stay_aligned_with_the_input_lines() -> None:
    lines = MARKDOWN.splitlines()
    tokenized = tokenize_lines(ProseMarkdownLexer(stripnl=False), ["", *lines, ""])
    assert len(tokenized) == len(lines) + 2
    assert ["".join(text for _, text in line) for line in tokenized[1:-1]] == lines


def test_marks_can_span_token_boundaries() -> None:
    tokens = [("pg-k", "ab"), ("", "cd")]
    assert line_html(tokens, [(1, 3)]) == '<span class="pg-k">a<mark>b</mark></span><mark>c</mark>d'


def test_the_static_stylesheet_is_the_generated_one() -> None:
    path = Path(settings.BASE_DIR) / "static" / "console" / "pygments.css"
    assert path.read_text() == pygments_css(), "regenerate: console.diffs.pygments_css()"
