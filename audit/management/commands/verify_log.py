"""verify_log: check the whole event chain; exit 0 `OK <n> events, head <hash>`, else exit 1."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.verify import verify_chain, verify_lifecycle
from audit.verify_tlog import TransparencyBroken, verify_transparency
from audit.witnesses import configured_witnesses


class Command(BaseCommand):
    help = (
        "Verify the event log: hashes, the console's MACs, checkpoints (rows, CheckpointSigned "
        "events and the head file), the lifecycle rules, and the transparency log (signed roots, "
        "witness cosignatures, and each witness asked to cosign the head); exit 1 naming the "
        "first bad seq."
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
        parser.add_argument(
            "--offline",
            action="store_true",
            help="do not ask the witnesses (WITNESSES with a URL) to cosign the latest checkpoint",
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
        # The transparency log: checkpoint notes, roots, cosignatures, the witnesses' own view.
        try:
            report = verify_transparency(
                witnesses=configured_witnesses(), ask_witnesses=not options["offline"]
            )
        except TransparencyBroken as broken:
            self.stderr.write(str(broken))
            sys.exit(1)
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(result.message)
