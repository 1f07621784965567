"""Diff rendering speed against difflib baselines measured in the same run.

`python -m bench.diff_bench` prints the figures; `run()` returns them for `make bench`.
Each case is timed as build_diff + render_to_string("console/diff.html"), best of N, with the
baseline's runs interleaved with ours so machine load hits both alike:
- a 10,000-line Markdown prompt with 2% of lines changed, against difflib.unified_diff +
  Pygments (DiffLexer, HtmlFormatter) on the same texts (goal: at most 3x the baseline);
- a 1,000-line contiguous re-indent, against difflib.HtmlDiff().make_table (goal: at least
  10x faster).
"""

from __future__ import annotations

import difflib
import math
import os
import random
import time
from collections.abc import Callable
from typing import Any

PROSE = (
    "the agent must answer politely and never reveal {secret} to a user; refunds over "
    "the limit need approval, invoices are sent by email within two days"
)
WORDS = PROSE.split(" ")

# ratio name -> (measured figure, baseline figure, comparison, goal), read by `make bench`.
RATIOS = {
    "prompt_10k_full_ratio": ("prompt_10k_full_s", "prompt_10k_baseline_s", "<=", 3.0),
    "prompt_10k_split_ratio": ("prompt_10k_split_s", "prompt_10k_baseline_s", "<=", 3.0),
    "prompt_10k_first_page_ratio": ("prompt_10k_first_page_s", "prompt_10k_baseline_s", "<=", 3.0),
    "reindent_1k_speedup": ("reindent_1k_ours_s", "reindent_1k_htmldiff_s", ">=", 10.0),
}


def prompt_lines(count: int, seed: int = 7) -> list[str]:
    """A Markdown prompt: headings, bullet lists with emphasis and code, prose lines."""
    rng = random.Random(seed)
    lines = []
    for number in range(count):
        if number % 40 == 0:
            lines.append(f"## Section {number // 40}\n")
        elif number % 40 == 1:
            lines.append("\n")
        elif number % 7 == 0:
            lines.append(f"- **{rng.choice(WORDS)}**: use `{rng.choice(WORDS)}` when asked\n")
        else:
            lines.append(" ".join(rng.choice(WORDS) for _ in range(12)) + f" ({number})\n")
    return lines


def scattered_change(lines: list[str], share: float, seed: int = 11) -> list[str]:
    """A copy of lines with one word replaced in `share` of them, spread at random."""
    rng = random.Random(seed)
    changed = list(lines)
    for index in rng.sample(range(len(lines)), int(len(lines) * share)):
        words = changed[index].split(" ")
        words[rng.randrange(len(words))] = "CHANGED"
        changed[index] = " ".join(words).rstrip("\n") + "\n"
    return changed


def best_of_each(runs: int, *work: Callable[[], object]) -> list[float]:
    """Best time of each callable over `runs` rounds, the callables taking turns each round."""
    best = [math.inf] * len(work)
    for _ in range(runs):
        for index, call in enumerate(work):
            start = time.perf_counter()
            call()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def _django_ready() -> None:
    from django.apps import apps

    if not apps.ready:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
        django.setup()


def render(old: str, new: str, **options: Any) -> str:
    from django.template.loader import render_to_string

    from console.diffs import build_diff

    diff = build_diff(old=old, new=new, language="markdown", **options)
    return render_to_string("console/diff.html", {"diff": diff})


def unified_baseline(old_lines: list[str], new_lines: list[str]) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import DiffLexer

    text = "".join(difflib.unified_diff(old_lines, new_lines, "old", "new"))
    return highlight(text, DiffLexer(), HtmlFormatter())


def run(runs: int = 7, prompt_size: int = 10_000, reindent_size: int = 1_000) -> dict[str, float]:
    """Seconds of each case and its ratios (see RATIOS for which way each goal points)."""
    _django_ready()
    old_lines = prompt_lines(prompt_size)
    new_lines = scattered_change(old_lines, 0.02)
    old, new = "".join(old_lines), "".join(new_lines)
    baseline, full, split, first_page = best_of_each(
        runs,
        lambda: unified_baseline(old_lines, new_lines),
        lambda: render(old, new, max_lines=None),
        lambda: render(old, new, mode="split", max_lines=None),
        lambda: render(old, new),  # the default view: the first 2,000 rows
    )

    block = prompt_lines(reindent_size, seed=3)
    indented = ["  " + line if line.strip() else line for line in block]
    block_old, block_new = "".join(block), "".join(indented)
    # HtmlDiff takes seconds here, so it runs fewer times; best-of only favours the baseline.
    [html_diff] = best_of_each(
        max(1, runs // 3), lambda: difflib.HtmlDiff().make_table(block, indented)
    )
    [ours_indent] = best_of_each(runs, lambda: render(block_old, block_new, max_lines=None))
    return {
        "prompt_10k_baseline_s": baseline,
        "prompt_10k_full_s": full,
        "prompt_10k_split_s": split,
        "prompt_10k_first_page_s": first_page,
        "prompt_10k_full_ratio": full / baseline,
        "prompt_10k_split_ratio": split / baseline,
        "prompt_10k_first_page_ratio": first_page / baseline,
        "reindent_1k_htmldiff_s": html_diff,
        "reindent_1k_ours_s": ours_indent,
        "reindent_1k_speedup": html_diff / ours_indent,
    }


def main() -> None:
    figures = run()
    for name, value in figures.items():
        print(f"{name:32} {value:8.3f}")
    print(
        f"10k-line prompt, 2% changed, full diff: {figures['prompt_10k_full_ratio']:.2f}x the time"
        " of unified_diff + Pygments (goal <= 3x)"
    )
    print(
        f"1k-line re-indent: {figures['reindent_1k_speedup']:.1f}x faster than"
        " HtmlDiff.make_table (goal >= 10x)"
    )


if __name__ == "__main__":
    main()
