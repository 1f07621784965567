"""Template context every console page gets: the event log's alarm, when it is raised."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from audit.log_head import log_alarm as read_log_alarm


def log_alarm(request: HttpRequest) -> dict[str, Any]:
    # One stat() of a small file per page; the banner must not depend on a cache being warm.
    return {"log_alarm": read_log_alarm()}
