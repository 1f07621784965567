"""Helpers for diff tests: build and render a diff in one call."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from console.diffs import Diff, build_diff


def render(diff: Diff) -> str:
    return render_to_string("console/diff.html", {"diff": diff})


def rendered(old: str, new: str, **options: Any) -> str:
    return render(build_diff(old=old, new=new, **options))


def rows_of(diff: Diff) -> list[Any]:
    return [row for block in diff.blocks for row in block.rows]
