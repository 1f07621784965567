"""verify_log: check the whole event chain; exit 0 `OK <n> events, head <hash>`, else exit 1."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.verify import verify_chain, verify_lifecycle


class Command(BaseCommand):
    help = (
        "Verify the event log: hashes, the console's MACs, checkpoints (rows, CheckpointSigned "
        "events and the head file) and the lifecycle rules; exit 1 naming the first bad seq."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes for a large chain (default: one per CPU from 200,000 events on)",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="re-check every payload's canonical form, even below a signed checkpoint",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_chain(workers=options["workers"], strict=options["strict"])
        if result.ok:
            lifecycle = verify_lifecycle()
            if not lifecycle.ok:
                result = lifecycle
        if not result.ok:
            self.stderr.write(result.message)
            sys.exit(1)
        self.stdout.write(result.message)
