"""App config for the console (web UI and project wiring)."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Review console"
