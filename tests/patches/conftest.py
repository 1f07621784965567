"""Fixtures for the patches tests: a console over HTTP that a test may stop (live_console)."""

from tests.patches.live_console import live_console  # noqa: F401
