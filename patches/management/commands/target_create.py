"""target_create NAME --type TYPE --content-file FILE [...]: create a target's genesis version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patches.canonical import JSONInputError, parse_json
from patches.formats import PatchError
from patches.models import PatchType, Target
from patches.targets import TargetError, target_create


def _read(path: str, what: str) -> str:
    """The file's text, byte for byte: read as bytes, so CRLF stays CRLF (text mode would turn
    it into LF and a `diff -u` made against the real file would no longer apply)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path}: {exc.strerror}") from exc
    try:
        return raw.decode("utf-8")  # strict: no replacement characters, no surrogates
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.end].hex(" ")
        raise CommandError(
            f"{what} {path} is not UTF-8: {exc.reason} (bytes {bad}) at byte offset {exc.start}"
        ) from exc


class Command(BaseCommand):
    help = "Create a target; prints JSON {name, version, content_hash}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the target's name (a slug)")
        parser.add_argument("--type", required=True, choices=PatchType.values, dest="patch_type")
        parser.add_argument("--content-file", required=True, help="genesis content (text or JSON)")
        parser.add_argument("--schema-file", help="an extra JSON Schema the content must satisfy")
        parser.add_argument("--approvals", type=int, default=1, help="required approvals (>= 1)")
        parser.add_argument("--tests", default="", help="mandatory tests, comma-separated")
        parser.add_argument(
            "--on-apply",
            default="production",
            help="labels an applied patch moves, comma-separated (created at genesis); "
            "an empty value: every move is reviewed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        try:
            Target._meta.get_field("name").run_validators(name)
        except Exception as exc:
            raise CommandError(
                f"target name {name!r} is not a slug (letters, digits, - and _)"
            ) from exc
        content = _read(options["content_file"], "content file")
        schema = None
        if options["schema_file"]:
            try:
                schema = parse_json(_read(options["schema_file"], "schema file"))
            except JSONInputError as exc:
                raise CommandError(f"schema file {options['schema_file']}: {exc}") from exc
            if not isinstance(schema, dict):
                raise CommandError("the schema file must hold a JSON object")
        tests = [t.strip() for t in options["tests"].split(",") if t.strip()]
        try:
            target = target_create(
                name=name,
                patch_type=options["patch_type"],
                content=content,
                actor="system:console",
                schema=schema,
                required_approvals=options["approvals"],
                tests=tests,
                on_apply=[
                    label.strip() for label in options["on_apply"].split(",") if label.strip()
                ],
            )
        except (TargetError, PatchError) as exc:
            raise CommandError(str(exc)) from exc
        genesis = target.versions.get(version=1)
        self.stdout.write(
            json.dumps({"name": target.name, "version": 1, "content_hash": genesis.content_hash})
        )
