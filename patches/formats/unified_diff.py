"""Strict unified diffs for text targets (being written: see the patch-formats work)."""

from __future__ import annotations


def apply_unified_diff(base: str, patch: str) -> str:
    raise NotImplementedError


def make_unified_diff(old: str, new: str) -> str:
    raise NotImplementedError
