"""The one error every patch format raises: what failed and where (hunk, op, or schema path)."""

from __future__ import annotations


class PatchError(ValueError):
    """A patch that does not parse, does not apply, or yields content that breaks its schema."""

    def __init__(self, message: str, *, location: str = "") -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.message = message
        self.location = location
