"""Seed demo data on first run (idempotent) and print the demo credentials."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from console.demo import demo_seed


class Command(BaseCommand):
    help = "Create demo accounts, tests, targets and an agent if missing; print credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--quiet", action="store_true", help="print nothing (`make run` prints them later)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = demo_seed()
        if options["quiet"]:
            return
        self.stdout.write("Demo accounts (also in var/demo_credentials.json):")
        for name in ("reviewer", "reviewer2", "admin"):
            if name in credentials:
                self.stdout.write(f"  {name:<10} password {credentials[name]['password']}")
        agent = credentials.get("demo-agent")
        if agent:
            self.stdout.write(
                f"  demo-agent token {agent['token']}  key {agent['private_key_file']}"
            )
