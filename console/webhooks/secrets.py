"""Webhook secrets: made, sealed for storage, opened to sign a delivery (Standard Webhooks).

A subscription's `whsec_` secret must be readable by the console, which signs with it, but the
database alone must not give it away: with the secret, whoever read a database copy could sign
deliveries that receivers accept. So it is stored sealed (AES-256-GCM) under a key derived from
the console's private key (HKDF, its own context), which lives outside the database (var/ or
CONSOLE_SIGNING_KEY). The subscription's id is the associated data, so a sealed secret copied
onto another subscription does not open. A new console key cannot open secrets sealed under the
old one: re-create the subscriptions after rotating it (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import os
import secrets as random
from datetime import datetime
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks.webhooks import Webhook

from patches.signing import console_private_key

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 bytes
_SEAL_INFO = b"patch-console/webhook-secret/v1"
_NONCE_BYTES = 12


class SecretUnavailable(Exception):
    """The sealed secret does not open: sealed under another console key, or altered."""


def secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode("ascii")


@lru_cache(maxsize=1)
def _seal_key() -> bytes:
    raw = console_private_key().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO).derive(raw)


def _context(subscription_id: int) -> bytes:
    return f"webhook:{subscription_id}".encode("ascii")


def secret_seal(secret: str, *, subscription_id: int) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_seal_key()).encrypt(nonce, secret.encode("ascii"), _context(subscription_id))
    return base64.b64encode(nonce + sealed).decode("ascii")


def secret_open(sealed: str, *, subscription_id: int) -> str:
    try:
        raw = base64.b64decode(sealed, validate=True)
        plain = AESGCM(_seal_key()).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _context(subscription_id)
        )
    except (InvalidTag, ValueError) as exc:
        raise SecretUnavailable(
            "the webhook secret does not open with the current console key; "
            "re-create the subscription"
        ) from exc
    return plain.decode("ascii")


def signature_headers(
    *, secret: str, webhook_id: str, sent_at: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed by the standardwebhooks package."""
    signature = Webhook(secret).sign(msg_id=webhook_id, timestamp=sent_at, data=body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
