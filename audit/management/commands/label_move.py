"""label_move TARGET LABEL VERSION --reason TEXT --by USERNAME [--percent P]: request a move."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.label_moves import LabelMoveRefused, label_move_request
from patches.models import Label


class Command(BaseCommand):
    help = (
        "Request a label move as that person would in the console; prints JSON {request, "
        "status}: moved when the label's quorum is 0, else waiting for approvals."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target")
        parser.add_argument("label")
        parser.add_argument("version", type=int)
        parser.add_argument("--reason", required=True)
        parser.add_argument("--by", required=True, help="the requesting reviewer's username")
        parser.add_argument("--percent", type=int, default=100, help="1-100: a staged rollout")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["by"]).first()
        if user is None:
            raise CommandError(f"no user named {options['by']!r}")
        label = (
            Label.objects.select_related("target")
            .filter(target__name=options["target"], name=options["label"])
            .first()
        )
        if label is None:
            raise CommandError(f"target {options['target']!r} has no label {options['label']!r}")
        try:
            move = label_move_request(
                label=label,
                to_version=options["version"],
                percent=options["percent"],
                reason=options["reason"],
                user=user,
            )
        except LabelMoveRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"request": move.pk, "status": move.status}))
