"""The diff benchmark runs and reports every figure (on small inputs, to stay fast)."""

from __future__ import annotations

from bench import diff_bench


def test_the_benchmark_reports_both_cases_as_ratios() -> None:
    figures = diff_bench.run(runs=1, prompt_size=300, reindent_size=40)
    assert set(figures) >= {"prompt_10k_full_ratio", "reindent_1k_speedup"}
    assert all(value > 0 for value in figures.values())


def test_the_changed_prompt_differs_in_two_percent_of_lines() -> None:
    old = diff_bench.prompt_lines(1000)
    new = diff_bench.scattered_change(old, 0.02)
    assert sum(a != b for a, b in zip(old, new, strict=True)) == 20
