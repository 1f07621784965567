"""agent_create NAME [--public-key PEM_FILE] [--auditor]: register an agent with one key and an
API token (with the log:read scope for an auditor)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from patches.agents import AgentError, agent_create
from patches.models import Agent, AgentScope
from patches.signing import KeyFormatError, load_public_key_pem, write_private_key


def private_key_path(name: str) -> Path:
    return Path(settings.VAR_DIR) / "keys" / f"{name}.pem"


class Command(BaseCommand):
    help = "Create an agent; prints JSON {agent, token, key_id[, private_key_file]}."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the agent's name (a slug)")
        parser.add_argument(
            "--public-key",
            metavar="PEM_FILE",
            help="the agent's Ed25519 public key (PEM); without it a keypair is generated "
            "and the private key written to var/keys/NAME.pem (0600)",
        )
        parser.add_argument(
            "--auditor",
            action="store_true",
            help="give the token the log:read scope: GET /api/v1/events shows every event, "
            "not only those about this agent's proposals and keys",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        field = Agent._meta.get_field("name")
        try:
            field.run_validators(name)
        except Exception as exc:
            raise CommandError(
                f"agent name {name!r} is not a slug (letters, digits, - and _)"
            ) from exc
        public_key = None
        if options["public_key"]:
            path = Path(options["public_key"])
            try:
                public_key = load_public_key_pem(path.read_bytes())
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
            except KeyFormatError as exc:
                raise CommandError(f"{path}: {exc}") from exc
        key_file = private_key_path(name)
        if public_key is None and key_file.exists():
            raise CommandError(f"{key_file} already exists; move it away or pass --public-key")
        try:
            created = agent_create(
                name=name,
                actor="system:console",
                public_key=public_key,
                scopes=[AgentScope.LOG_READ] if options["auditor"] else [],
            )
        except AgentError as exc:
            raise CommandError(str(exc)) from exc
        result = {"agent": created.agent.name, "token": created.token, "key_id": created.key.key_id}
        if created.private_key is not None:
            write_private_key(key_file, created.private_key)
            result["private_key_file"] = str(key_file)
        self.stdout.write(json.dumps(result))
