"""var/, the console's local state (SQLite database, keys, session secret, broker queue): its
user's alone. Settings set the umask for what is created; startup tightens what is already there."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Files this process creates are 0600 and folders 0700: the SQLite database and its WAL,
# kombu's broker messages (kombu has no mode option), the beat schedule, exports.
PRIVATE_UMASK = 0o077

logger = logging.getLogger(__name__)


def _tighten(path: Path) -> str | None:
    """Take group and other bits off one folder or file; say what was fixed, if anything."""
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:  # removed while we walked (a consumed broker message)
        return None
    if stat.S_ISLNK(path.lstat().st_mode) or not mode & 0o077:
        return None  # a link's own mode means nothing; its target is checked where it lives
    try:
        path.chmod(mode & ~0o077)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{path} is mode {mode:04o}, readable by other users, and cannot be made private "
            f"({exc}); fix its owner or mode, or move VAR_DIR"
        ) from exc
    return f"{path} was readable by others (mode {mode:04o}); now {mode & ~0o077:04o}"


def local_state_secure(var_dir: Path) -> list[str]:
    """var_dir 0700, nothing under it open to group or others; logs and returns each fix."""
    fixed = []
    for folder, dirs, files in os.walk(var_dir):
        for path in (Path(folder), *(Path(folder, name) for name in files)):
            message = _tighten(path)
            if message:
                fixed.append(message)
        dirs[:] = [name for name in dirs if not Path(folder, name).is_symlink()]
    for message in fixed:
        logger.warning("local state: %s", message)
    return fixed
