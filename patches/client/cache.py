"""The SDK's last good copies on disk: one file per (target, label, instance), hash-checked on load.

A copy is written only after its content was checked against its `content_hash`, atomically
(a temporary file renamed over the old one) and readable by its owner only. On load the hash is
computed again from the content — the UTF-8 bytes of a text target, the RFC 8785 bytes of a JSON
one, as the console computes it — and a file whose content does not match (edited, truncated,
another target's) is refused: `load` returns None and logs why, and the SDK falls back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from patches.client import canonical

logger = logging.getLogger("patches.client")

FORMAT = 1


def content_hash_of(content: Any) -> str:
    """The console's content_hash of a target's content as the API returns it."""
    raw = content.encode("utf-8") if isinstance(content, str) else canonical(content)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "patch-console"


class LastGoodCopies:
    """Last good copies of targets under `directory` (created 0700 when missing)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def path_for(self, name: str, label: str | None, instance: str | None) -> Path:
        # The key may hold any characters (an instance name is the agent's choice): the file
        # name is its hash, and the key is kept inside the file and checked on load.
        key = canonical([name, label, instance])
        return self.directory / f"{hashlib.sha256(key).hexdigest()[:40]}.json"

    def save(
        self, name: str, label: str | None, instance: str | None, body: dict[str, Any]
    ) -> bool:
        """Keep `body` (a GET /targets/{name} answer) if its content matches its hash."""
        if content_hash_of(body.get("content")) != body.get("content_hash"):
            logger.warning("not keeping %s: its content does not match its content_hash", name)
            return False
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        record = {"format": FORMAT, "key": [name, label, instance], "target": body}
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".copy-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle, ensure_ascii=False)
            os.replace(temporary, self.path_for(name, label, instance))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def load(self, name: str, label: str | None, instance: str | None) -> dict[str, Any] | None:
        """The kept body, or None when there is none or it fails its check (logged)."""
        path = self.path_for(name, label, instance)
        try:
            record = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            logger.warning("refusing the last good copy of %s in %s: %s", name, path, exc)
            return None
        body = record.get("target") if isinstance(record, dict) else None
        if (
            not isinstance(body, dict)
            or record.get("key") != [name, label, instance]
            or body.get("name") != name
        ):
            logger.warning("refusing the last good copy of %s in %s: not that target", name, path)
            return None
        try:
            computed = content_hash_of(body.get("content"))
        except Exception as exc:  # rfc8785 refuses what JSON cannot hold canonically
            logger.warning("refusing the last good copy of %s in %s: %s", name, path, exc)
            return None
        if computed != body.get("content_hash"):
            logger.warning(
                "refusing the last good copy of %s in %s: its content hashes to %s, not %s",
                name,
                path,
                computed,
                body.get("content_hash"),
            )
            return None
        return body
