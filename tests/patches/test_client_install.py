"""The client installs alone on an agent's machine: a fresh virtualenv, `pip install
./patches/client`, no Django. Uses the package index pip is configured with here (PyPI)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "patches" / "client"


def run(argv: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    # Not the console's environment: no PYTHONPATH or Django settings reach the new venv.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DJANGO", "VIRTUAL_ENV"))
    }
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done


def test_the_client_installs_into_a_fresh_virtualenv_without_django(tmp_path):
    home = tmp_path / "agent-venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(home)
    python = str(home / "bin" / "python")
    outside = tmp_path / "elsewhere"  # not the repository: only the installed copy can import
    outside.mkdir()

    run([python, "-m", "pip", "install", "--quiet", str(CLIENT)], cwd=outside, timeout=420)

    frozen = run([python, "-m", "pip", "freeze"], cwd=outside, timeout=60).stdout.lower()
    assert "patch-console-client" in frozen and "django" not in frozen
    imported = run(
        [
            python, "-c",
            "import sys, patches.client, patches.client.sdk, patches.client.problems;"
            "print(patches.client.__file__);"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))",
        ],
        cwd=outside, timeout=60,
    ).stdout.splitlines()  # fmt: skip
    assert imported[0].startswith(str(home)) and imported[1] == "[]"
    helped = run([python, "-m", "patches.client", "--help"], cwd=outside, timeout=60).stdout
    assert "keygen" in helped and "mcp" in helped
    # Without the mcp extra the MCP server says what to install instead of a traceback.
    done = subprocess.run(
        [python, "-m", "patches.client", "mcp"], cwd=outside, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "patch-console-client[mcp]" in done.stderr
    assert sys.prefix != str(home)
