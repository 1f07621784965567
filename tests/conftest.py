"""Suite-wide test setup: eager Celery by default, PostgreSQL-only tests, no silent skips on CI."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from console.celery import app as celery_app


@pytest.fixture(autouse=True)
def _eager_celery():  # type: ignore[no-untyped-def]
    """Gates run inline unless a test starts real workers (those tests turn this off)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _log_files(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Each test its own recorded log head and alarm: they live outside the test database."""
    settings.LOG_HEAD_PATH = tmp_path / "log_head.json"
    settings.LOG_ALARM_PATH = tmp_path / "log_alarm.json"


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    # PostgreSQL-only tests are deselected (not skipped) on the SQLite pass; .ci/run runs the
    # suite again on PostgreSQL, where they run.
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql")):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("postgres") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    # On CI a skip is a hidden failure: every test must run in one of the two passes.
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, which must run every test: {report.longrepr}"


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"
