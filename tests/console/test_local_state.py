"""var/ (SQLite database, keys, broker queue) is its user's alone: startup tightens wider modes,
and what the console creates there is 0600 in 0700 folders (issue: hardening, 10)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a login shell usually has: files 0644, folders 0755 unless the console says otherwise.
SHELL_UMASK = 0o022


def _manage(var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    dropped = ("DATABASE_URL", "CELERY_", "CACHE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "VAR_DIR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update({"VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "console.settings"})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        umask=SHELL_UMASK,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _modes(var: Path) -> dict[str, int]:
    found = {".": _mode(var)}
    for path in var.rglob("*"):
        found[str(path.relative_to(var))] = _mode(path)
    return found


def test_startup_tightens_a_var_folder_and_files_that_others_can_read(tmp_path):
    var = tmp_path / "var"
    (var / "broker" / "queue").mkdir(parents=True)
    (var / "console.sqlite3").write_bytes(b"")  # an empty file is an empty SQLite database
    (var / "console_ed25519.pem").write_bytes(b"not read by check")
    (var / "broker" / "queue" / "message.msg").write_bytes(b"{}")
    for folder in (var, var / "broker", var / "broker" / "queue"):
        folder.chmod(0o755)
    for name in ("console.sqlite3", "console_ed25519.pem", "broker/queue/message.msg"):
        (var / name).chmod(0o644)

    result = _manage(var, "check")

    assert result.returncode == 0, result.stderr
    assert _mode(var) == 0o700
    assert _mode(var / "broker") == 0o700
    assert _mode(var / "broker" / "queue") == 0o700
    assert _mode(var / "console.sqlite3") == 0o600
    assert _mode(var / "console_ed25519.pem") == 0o600
    assert _mode(var / "broker" / "queue" / "message.msg") == 0o600
    assert f"{var / 'console.sqlite3'} was readable by others" in result.stderr


def test_everything_the_console_creates_in_var_is_private_to_its_user(tmp_path):
    var = tmp_path / "var"
    assert _manage(var, "migrate", "--noinput").returncode == 0
    made = _manage(
        var,
        "shell",
        "-c",
        "from patches.signing import console_private_key; console_private_key(); "
        "from console.celery import app; app.send_task('console.heartbeat')",
    )
    assert made.returncode == 0, made.stderr

    modes = _modes(var)
    assert {"console.sqlite3", "console_ed25519.pem", "secret_key"} <= set(modes)
    assert any(name.startswith("broker/queue/") for name in modes), modes
    wider = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode & 0o077 or (mode != 0o700 if (var / name).is_dir() else mode != 0o600)
    }
    assert not wider, f"not private to the console's user: {wider}"
