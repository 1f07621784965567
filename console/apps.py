"""App config for the console (web UI and project wiring)."""

from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Review console"

    def ready(self) -> None:
        from console.local_state import local_state_secure

        # Every entry point (manage.py, gunicorn, the Celery worker) starts here, before any
        # connection opens the SQLite file: a var/ left readable by others is fixed first.
        local_state_secure(Path(settings.VAR_DIR))
