"""export_log DIR: write a bundle that `python -m audit.verifier DIR` checks without Django."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.export import ExportError, log_export


class Command(BaseCommand):
    help = "Export events, proposals, genesis contents, checkpoints and keys to a directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dir", help="a new or empty directory for the bundle")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            bundle = log_export(directory=Path(options["dir"]))
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            json.dumps({"dir": str(bundle.directory), "events": bundle.events, "head": bundle.head})
        )
