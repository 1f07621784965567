"""The latest signed checkpoint, kept in a file outside the database, and the log's alarm.

Whoever can write the database file can cut the log back and delete the checkpoint rows with
it; the file under var/ still names the head the console signed last, so verify_log and the
checkpoint signer see the cut. The alarm file is how the checkpoint signer tells /healthz and
the console that the chain holds events the console did not write.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from patches.canonical import canonical, format_timestamp

logger = logging.getLogger(__name__)

HEAD_KEYS = ("seq", "head", "key_id", "signature")


def _write_private(path: Path, data: bytes) -> None:
    """Replace path atomically with data, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def log_head_write(*, seq: int, head: str, key_id: str, signature: str, mac_from: int) -> None:
    """Record a checkpoint just committed; never moves the recorded head backwards."""
    current = log_head_read()
    if current is not None and current["seq"] > seq:
        return
    if current is not None and current.get("mac_from"):
        mac_from = min(mac_from, current["mac_from"])
    statement = {
        "seq": seq,
        "head": head,
        "key_id": key_id,
        "signature": signature,
        "mac_from": mac_from,
    }
    _write_private(Path(settings.LOG_HEAD_PATH), canonical(statement) + b"\n")


def log_head_read() -> dict[str, Any] | None:
    """The recorded head, or None when no checkpoint was recorded here (a new console)."""
    path = Path(settings.LOG_HEAD_PATH)
    try:
        value = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        # Unreadable is not "absent": that would let a cut log pass.
        return {"seq": 0, "head": "", "key_id": "", "signature": "", "problem": str(exc)}
    if not isinstance(value, dict) or not all(key in value for key in HEAD_KEYS):
        return {"seq": 0, "head": "", "key_id": "", "signature": "", "problem": "malformed"}
    return value


def log_alarm_raise(problem: str) -> None:
    """The chain holds something the console did not write: say so everywhere, loudly."""
    logger.error("event log alarm: %s", problem)
    alarm = {"problem": problem, "raised_at": format_timestamp(timezone.now())}
    _write_private(Path(settings.LOG_ALARM_PATH), canonical(alarm) + b"\n")


def log_alarm() -> dict[str, Any] | None:
    """The raised alarm ({problem, raised_at}), or None. Cleared only by an operator."""
    try:
        value = json.loads(Path(settings.LOG_ALARM_PATH).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"problem": f"the alarm file is unreadable: {exc}", "raised_at": ""}
    return value if isinstance(value, dict) else {"problem": "malformed alarm", "raised_at": ""}
