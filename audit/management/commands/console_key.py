"""console_key: print the console's public key, for verifiers and witnesses to pin out of band."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.management.base import BaseCommand

from patches.client.tlog import Verifier
from patches.signing import console_private_key, console_verifier_keys, key_id_of


class Command(BaseCommand):
    help = (
        "Print the console's public key as PEM (to stdout) with its key id and those of the "
        "retired keys (to stderr); give the PEM or the ids to `python -m audit.verifier`."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        public = console_private_key().public_key()
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.stdout.write(pem.decode("ascii"), ending="")
        keys = list(console_verifier_keys())
        current = key_id_of(
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.stderr.write(f"key id {current} (current), public key {raw.hex()}")
        # What witnesses (`python -m audit.witness --log`) and agents pin for checkpoint notes.
        vkey = Verifier(name=settings.LOG_ORIGIN, public_key=raw).vkey
        self.stderr.write(f"checkpoint note verifier key {vkey}")
        for key_id in keys:
            if key_id != current:
                self.stderr.write(f"key id {key_id} (retired)")
