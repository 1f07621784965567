"""Strict readers for the transparency log's settings: the log origin and the witnesses."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from console.env import envlist, envstr
from patches.client.tlog import ProofError, parse_vkey


def envorigin(name: str, default: str) -> str:
    """A checkpoint origin, also the console key's note name: no spaces, no '+'."""
    value = envstr(name, default)
    if any(c.isspace() or c == "+" for c in value) or not value.isprintable():
        raise ImproperlyConfigured(f"{name}: an origin has no spaces or '+', got {value!r}")
    return value


def envwitnesses(name: str) -> list[dict[str, str]]:
    """Comma-separated "<vkey> [<URL>]": each witness's verifier key (type 0x04, as
    `python -m audit.witness --print-vkey` prints it) and its add-checkpoint URL prefix."""
    witnesses = []
    for item in envlist(name, []):
        vkey, *rest = item.split()
        try:
            verifier = parse_vkey(vkey)
        except ProofError as exc:
            raise ImproperlyConfigured(f"{name}: {exc}") from exc
        if verifier.sig_type != 0x04:
            raise ImproperlyConfigured(f"{name}: {verifier.name} is not a cosigner key (0x04)")
        url = rest[0].rstrip("/") if rest else ""
        parts = urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ImproperlyConfigured(f"{name}: {verifier.name}: not an http(s) URL: {url!r}")
        if len(rest) > 1:
            raise ImproperlyConfigured(f"{name}: expected '<vkey> [<URL>]', got {item!r}")
        witnesses.append({"vkey": vkey, "name": verifier.name, "url": url})
    return witnesses
