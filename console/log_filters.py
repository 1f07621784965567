"""Logging filters: a refused request (4xx) is one line in the log, not a traceback."""

from __future__ import annotations

import logging


class ClientErrorsOnOneLine(logging.Filter):
    """django.request logs a PermissionDenied or a 404 with its traceback; for a refusal (status
    below 500) the traceback tells an operator nothing, so only the message line is kept.
    Server errors (5xx) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.") and getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
