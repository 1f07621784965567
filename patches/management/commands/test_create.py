"""test_create NAME --kind KIND --params-file FILE [...]: define a test as data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patches.canonical import JSONInputError, parse_json
from patches.models import TestDefinition, TestKind
from patches.testgate.definitions import testdef_create


def _names(raw: str) -> list[str]:
    return [name.strip() for name in raw.split(",") if name.strip()]


class Command(BaseCommand):
    help = "Create a test definition; prints JSON {name, kind}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the test's name (a slug)")
        parser.add_argument("--kind", required=True, choices=TestKind.values)
        parser.add_argument("--params-file", required=True, help="the kind's params, a JSON object")
        parser.add_argument(
            "--mandatory-for", default="", help="targets that must always run it, comma-separated"
        )
        parser.add_argument(
            "--offered-for",
            default="",
            help="targets whose agents may ask for it in test_requirements, comma-separated "
            "(agents may name only a target's mandatory and offered tests)",
        )
        parser.add_argument(
            "--patch-types",
            default="",
            help="patch types it applies to, comma-separated (default: any)",
        )
        parser.add_argument(
            "--timeout", type=int, default=30, help="time limit in seconds (default 30)"
        )
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        try:
            TestDefinition._meta.get_field("name").run_validators(name)
        except Exception as exc:
            raise CommandError(
                f"test name {name!r} is not a slug (letters, digits, - and _)"
            ) from exc
        path = options["params_file"]
        try:
            params = parse_json(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read params file {path}: {exc.strerror}") from exc
        except (JSONInputError, UnicodeDecodeError) as exc:
            raise CommandError(f"params file {path} is not valid JSON: {exc}") from exc
        try:
            definition = testdef_create(
                name=name,
                kind=options["kind"],
                params=params,
                patch_types=_names(options["patch_types"]),
                mandatory_for=_names(options["mandatory_for"]),
                offered_for=_names(options["offered_for"]),
                timeout_s=options["timeout"],
                description=options["description"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"name": definition.name, "kind": definition.kind}))
