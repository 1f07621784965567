"""Settings come from the environment; bad values stop startup with the variable's name."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    dropped = ("DATABASE_URL", "CELERY_", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    base.update({"VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "console.settings"})
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://db/console"),
        ("CELERY_BROKER_URL", "carrier-pigeon://loft"),
        ("API_MAX_BODY_BYTES", "a lot"),
        ("CONSOLE_ENV", "staging"),
        ("SECRET_KEY_FILE", "/nonexistent/secret"),
    ],
)
def test_a_bad_environment_value_fails_at_startup_naming_the_variable(tmp_path, variable, value):
    result = _manage("check", env={variable: value}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{variable}:" in result.stderr


def test_production_requires_a_secret_key(tmp_path):
    result = _manage(
        "check", env={"CONSOLE_ENV": "production", "SECRET_KEY": ""}, tmp_path=tmp_path
    )
    assert result.returncode != 0
    assert "SECRET_KEY: required" in result.stderr


def test_the_production_profile_passes_check_deploy_with_no_issues(tmp_path):
    env = {
        "CONSOLE_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "console.example.com",
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_development_generates_its_secrets_with_owner_only_permissions(tmp_path):
    result = _manage("check", env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    secret = tmp_path / "var" / "secret_key"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) >= 50


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "{'server_side_binding': True, 'prepare_threshold': 5}"), ("false", "{}")],
)
def test_postgresql_prepares_hot_statements_unless_turned_off(tmp_path, value, expected):
    env = {"DATABASE_URL": "postgres://console@db.invalid:5432/console"}
    if value is not None:
        env["DB_PREPARED_STATEMENTS"] = value
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    result = _manage("shell", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
