"""Ed25519 keys and signatures: key ids, verifying proposals, and the console's own key."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from patches.canonical import canonical

ALGORITHM = "ed25519"


class SignatureError(ValueError):
    """The signature is malformed or does not verify."""


class KeyFormatError(ValueError):
    """A public or private key that cannot be read."""


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(raw: bytes) -> str:
    """Hex SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(raw).hexdigest()


def load_public_key_pem(pem: bytes) -> bytes:
    """Raw 32 bytes of an Ed25519 public key given as PEM (SubjectPublicKeyInfo)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFormatError(f"expected an Ed25519 key, got {type(key).__name__}")
    return raw_public_key(key)


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key_pem(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"expected an Ed25519 key, got {type(key).__name__}")
    return key


def sign(private_key: Ed25519PrivateKey, value: Any) -> str:
    """base64 Ed25519 signature over canonical(value)."""
    return base64.b64encode(private_key.sign(canonical(value))).decode("ascii")


def verify(raw_public: bytes, value: Any, signature_b64: str) -> None:
    """Raise SignatureError unless signature_b64 is a valid signature over canonical(value)."""
    verify_bytes(raw_public, canonical(value), signature_b64)


def verify_bytes(raw_public: bytes, signed: bytes, signature_b64: str) -> None:
    """Raise SignatureError unless signature_b64 is a valid signature over the bytes signed."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature value is not base64") from exc
    if len(signature) != 64:
        raise SignatureError(f"an Ed25519 signature has 64 bytes, got {len(signature)}")
    try:
        Ed25519PublicKey.from_public_bytes(raw_public).verify(signature, signed)
    except InvalidSignature as exc:
        raise SignatureError("signature does not verify over the canonical proposal") from exc


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a PEM private key readable by its owner only (0600), refusing to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(key))


@lru_cache(maxsize=1)
def console_private_key() -> Ed25519PrivateKey:
    """The console's key: CONSOLE_SIGNING_KEY(_FILE) if set, else generated once under var/."""
    from django.conf import settings

    if settings.CONSOLE_SIGNING_KEY:
        return load_private_key_pem(settings.CONSOLE_SIGNING_KEY.encode())
    path = Path(settings.CONSOLE_SIGNING_KEY_PATH)
    if not path.exists():
        # Another process may make it first; then we read theirs.
        with contextlib.suppress(FileExistsError):
            write_private_key(path, Ed25519PrivateKey.generate())
    return load_private_key_pem(path.read_bytes())


def console_public_key() -> bytes:
    return raw_public_key(console_private_key().public_key())


# The event MAC key is derived, never stored: whoever holds the database alone cannot write an
# event the console would accept. A new console key starts a new MAC key (see docs on rotation).
_EVENT_MAC_INFO = b"patch-console/event-mac/v1"


@lru_cache(maxsize=1)
def event_mac_key() -> bytes:
    """HKDF-SHA256 of the console's private key: the key of every event's MAC."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = console_private_key().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_EVENT_MAC_INFO).derive(raw)


def console_verifier_keys() -> dict[str, bytes]:
    """key id → public key of every console key whose checkpoints verify: the current key and
    the retired ones (CONSOLE_RETIRED_PUBLIC_KEYS), so rotation keeps old checkpoints valid."""
    from django.conf import settings

    current = console_public_key()
    keys = {key_id_of(current): current}
    for raw in settings.CONSOLE_RETIRED_PUBLIC_KEYS:
        keys[key_id_of(raw)] = raw
    return keys
