"""label_create TARGET NAME [--approvals N]: a new label where production points."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patches.labels import LabelError, label_create
from patches.models import Target


class Command(BaseCommand):
    help = "Create a label on a target; prints JSON {target, label, version}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target")
        parser.add_argument("name", help="the label's name (a slug)")
        parser.add_argument(
            "--approvals",
            type=int,
            help="approvals a move needs (0: immediate; default: the target's required approvals)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        target = Target.objects.filter(name=options["target"]).first()
        if target is None:
            raise CommandError(f"no target named {options['target']!r}")
        try:
            label = label_create(
                target=target,
                name=options["name"],
                approvals=options["approvals"],
                actor="system:console",
            )
        except LabelError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            json.dumps({"target": target.name, "label": label.name, "version": label.version})
        )
