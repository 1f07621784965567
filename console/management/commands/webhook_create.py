"""webhook_create URL --events KIND,… [--target NAME,…] [--agent NAME] [--from-seq N]: subscribe
a receiver to the log; prints {"id", "secret"} (the secret is shown this once)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from console.webhooks.services import WebhookError, webhook_create


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class Command(BaseCommand):
    help = "Create a webhook subscription; prints JSON {id, secret}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="the receiver, http:// or https://")
        parser.add_argument("--events", required=True, metavar="KIND,…", help="event kinds")
        parser.add_argument("--target", metavar="NAME,…", help="only events about these targets")
        parser.add_argument(
            "--agent", metavar="NAME", help="only the events this agent may read over the API"
        )
        parser.add_argument(
            "--from-seq",
            type=int,
            metavar="N",
            help="deliver the events after seq N (default: after the log's head now)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = webhook_create(
                url=options["url"],
                event_kinds=_list(options["events"]),
                target_names=_list(options["target"]),
                agent_name=options["agent"] or "",
                from_seq=options["from_seq"],
                actor="system:console",
            )
        except WebhookError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"id": created.subscription.pk, "secret": created.secret}))
