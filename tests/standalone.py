"""What importing a module pulls in, checked in a fresh interpreter: for code that must run
without Django (the agent client, the stand-alone verifier, the patch type registry)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def frameworks_loaded_by(*modules: str) -> list[str]:
    """The django and ninja modules that importing `modules` loads, sorted (none: [])."""
    code = (
        f"import json, sys, {', '.join(modules)}; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'ninja'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(result.stdout))
