"""`make bench`: run every benchmark in a throwaway database and print one table of ratios.

Each bench module exposes `run() -> dict[str, float]` of named figures, each ratio measured
against its baseline in the same run. A module may also define
`RATIOS = {ratio_name: (measured_name, baseline_name, "<=" or ">=", goal)}`; for modules that do
not, the table below (KNOWN_RATIOS) names the goal, and the measured and baseline figures are found by
name. Works on the embedded default (SQLite, filesystem broker) and on PostgreSQL/Redis through
DATABASE_URL / CELERY_BROKER_URL; the database is always a fresh one, dropped at the end.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from bench.common import django_ready, throwaway_database

BENCHES = (
    "chain_bench",
    "api_bench",
    "gate_bench",
    "diff_bench",
    "hardening_bench",
    "tlog_bench",
    "live_bench",
    "labels_bench",
    "sdk_bench",
)

# ratio name -> (measured name, baseline name, comparison, goal) for benches that do not
# declare RATIOS themselves (a goal of None prints "-": no goal was set for that ratio).
KNOWN_RATIOS: dict[str, tuple[str, str, str, float | None]] = {
    "prompt_10k_full_ratio": ("prompt_10k_full_s", "prompt_10k_baseline_s", "<=", 3.0),
    "reindent_1k_speedup": ("reindent_1k_ours_s", "reindent_1k_htmldiff_s", ">=", 10.0),
    # A signed submit should cost at most 5 no-op requests (issue: One path through the core).
    "submit_to_ping_ratio": ("submit_rps", "ping_rps", ">=", 0.20),
}
RATIO_SUFFIXES = ("_ratio", "_speedup", "_x")


@dataclass
class Row:
    bench: str
    name: str
    measured: float | None
    baseline: float | None
    unit: str
    ratio: float
    comparison: str
    goal: float | None

    @property
    def verdict(self) -> str:
        if self.goal is None:
            return "-"
        met = self.ratio <= self.goal if self.comparison == "<=" else self.ratio >= self.goal
        return "pass" if met else "FAIL"


def _stem(name: str) -> str:
    for suffix in RATIO_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _related(figures: dict[str, Any], ratio_name: str) -> tuple[float | None, float | None]:
    """(measured, baseline) figures for a ratio, found by name when the module does not say."""
    stem = _stem(ratio_name)
    prefix = "_".join(stem.split("_")[:2])
    seconds = {k: v for k, v in figures.items() if k.endswith("_s") and k.startswith(prefix)}
    baseline = next((v for k, v in seconds.items() if "baseline" in k), None)
    measured = seconds.get(stem + "_s")
    others = [v for k, v in seconds.items() if "baseline" not in k]
    if baseline is None and len(others) == 2:
        # e.g. reindent_1k_htmldiff_s vs reindent_1k_ours_s: "ours" is the measured one.
        ours = [v for k, v in seconds.items() if "ours" in k]
        if ours:
            measured = ours[0]
            baseline = next(v for v in others if v is not measured)
    if measured is None and len(others) == 1 and stem == prefix:
        measured = others[0]
    return measured, baseline


def _unit(name: str | None) -> str:
    for suffix in ("_ms", "_rps", "_s"):
        if name and name.endswith(suffix):
            return suffix[1:]
    return ""


def rows_of(bench: str, module: ModuleType, figures: dict[str, Any]) -> list[Row]:
    declared: dict[str, tuple[str, str, str, float | None]] = {
        **KNOWN_RATIOS,
        **(getattr(module, "RATIOS", {}) or {}),
    }
    rows = []
    for name, value in figures.items():
        if isinstance(value, dict):  # {"measured", "baseline", "ratio", "goal", "comparison"}
            rows.append(
                Row(
                    bench,
                    name,
                    value.get("measured"),
                    value.get("baseline"),
                    value.get("unit", "s"),
                    float(value["ratio"]),
                    value.get("comparison", "<="),
                    value.get("goal"),
                )
            )
            continue
        if name in declared:
            measured_name, baseline_name, comparison, goal = declared[name]
            rows.append(
                Row(
                    bench,
                    name,
                    figures.get(measured_name),
                    figures.get(baseline_name),
                    _unit(measured_name),
                    float(value),
                    comparison,
                    goal,
                )
            )
            continue
        if not name.endswith(RATIO_SUFFIXES):
            continue
        measured, baseline = _related(figures, name)
        comparison = "<=" if name.endswith("_ratio") else ">="
        rows.append(Row(bench, name, measured, baseline, "s", float(value), comparison, None))
    return rows


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "rps":
        return f"{value:.1f}/s"
    return f"{value:.4g}"


def print_table(rows: list[Row], *, missing: list[str], failed: list[str]) -> None:
    headers = ("bench", "ratio", "measured", "baseline", "ratio", "goal", "result")
    table = [
        (
            r.bench,
            r.name,
            _number(r.measured, r.unit),
            _number(r.baseline, r.unit),
            f"{r.ratio:.2f}x",
            f"{r.comparison} {r.goal:g}x" if r.goal is not None else "-",
            r.verdict,
        )
        for r in rows
    ]
    widths = [
        max(len(h), *(len(row[i]) for row in table)) if table else len(h)
        for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    for name in missing:
        print(f"MISSING  bench.{name}: module not found, not run")
    for name in failed:
        print(f"ERROR    bench.{name}: raised, see the traceback above")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=BENCHES, help="run only these benches")
    options = parser.parse_args(argv)
    selected = options.only or list(BENCHES)

    with (
        throwaway_database("console_bench") as database_url,
        tempfile.TemporaryDirectory(prefix="console-bench-var-") as var_dir,
    ):
        # A private VAR_DIR: the filesystem broker queue, keys and SQLite files of this run are
        # its own, so no running worker picks up the bench's gate messages.
        django_ready(database_url, var_dir=var_dir)
        from django.db import connection

        print(
            f"bench on {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"database {connection.vendor}, broker {os.environ.get('CELERY_BROKER_URL', 'filesystem://')}"
        )
        rows: list[Row] = []
        missing: list[str] = []
        failed: list[str] = []
        for name in selected:
            try:
                module = importlib.import_module(f"bench.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"bench.{name}":
                    traceback.print_exc()
                    failed.append(name)
                    continue
                print(f"bench.{name}: missing, skipped")
                missing.append(name)
                continue
            except Exception:
                traceback.print_exc()
                failed.append(name)
                continue
            started = time.perf_counter()
            try:
                figures = module.run()
            except Exception:
                traceback.print_exc()
                failed.append(name)
                continue
            print(f"bench.{name}: {time.perf_counter() - started:.1f} s")
            for key, value in figures.items():
                shown = f"{value:.6g}" if isinstance(value, float | int) else repr(value)
                print(f"    {key:40} {shown}")
            rows.extend(rows_of(name, module, figures))
        print()
        print(f"cores: {os.cpu_count()}")
        print_table(rows, missing=missing, failed=failed)
        connection.close()
    bad = missing or failed or any(r.verdict == "FAIL" for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
