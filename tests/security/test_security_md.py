"""SECURITY.md names a test for each defence: every one of them must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`((?:tests/[\w/]+\.py)?)::(\w+)`")


def test_every_test_named_in_security_md_exists():
    text = (ROOT / "SECURITY.md").read_text()
    current, missing, seen = None, [], 0
    for path, name in REFERENCE.findall(text):
        current = path or current  # "`::name`" continues the file named just before
        assert current, f"{name} is named before any test file"
        source = (ROOT / current).read_text() if (ROOT / current).exists() else ""
        if not re.search(rf"^def {name}\(", source, re.MULTILINE):
            missing.append(f"{current}::{name}")
        seen += 1
    assert seen > 40
    assert not missing, f"SECURITY.md names tests that do not exist: {missing}"
