"""reviewer_create USERNAME [--admin] [--owner-of T1,T2]: a reviewer account, password from env."""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.reviewers import ReviewerError, reviewer_create


class Command(BaseCommand):
    help = "Create a reviewer (password from REVIEWER_PASSWORD); prints {username, roles} as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--admin", action="store_true", help="also a Django admin (superuser)")
        parser.add_argument(
            "--owner-of", default="", help="comma-separated target names this person owns"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # From the environment, not argv: command lines show up in `ps` and shell history.
        password = os.environ.get("REVIEWER_PASSWORD", "")
        if not password:
            raise CommandError(
                "REVIEWER_PASSWORD is not set: put the new reviewer's password there"
            )
        try:
            created = reviewer_create(
                username=options["username"],
                password=password,
                admin=options["admin"],
                owner_of=options["owner_of"].split(","),
                actor="system:console",
            )
        except ReviewerError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            json.dumps({"username": created.user.get_username(), "roles": created.roles})
        )
