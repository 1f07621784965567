"""What /healthz reports: the database, the broker and the workers, each up or down."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.log_head import log_alarm
from console.celery import app
from console.models import WorkerHeartbeat


def database_status() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"status": "down", "error": str(exc)[:200]}
    return {"status": "up", "vendor": connection.vendor}


def broker_status() -> dict[str, Any]:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return {"status": "down", "error": str(exc)[:200]}
    return {"status": "up", "transport": settings.CELERY_BROKER_URL.split(":", 1)[0]}


def workers_status() -> dict[str, Any]:
    # Three missed beats and a worker counts as down.
    fresh_after = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_S * 3)
    try:
        beats = list(WorkerHeartbeat.objects.order_by("worker"))
    except Exception as exc:
        return {"status": "unknown", "error": str(exc)[:200]}
    alive = [beat.worker for beat in beats if beat.seen_at >= fresh_after]
    return {
        "status": "up" if alive else "down",
        "alive": alive,
        "last_seen": max((beat.seen_at for beat in beats), default=None),
    }


def log_status() -> dict[str, Any]:
    alarm = log_alarm()
    if alarm is None:
        return {"status": "ok"}
    return {"status": "alarm", "problem": alarm.get("problem"), "raised_at": alarm.get("raised_at")}


def health_report() -> tuple[int, dict[str, Any]]:
    database = database_status()
    log = log_status()
    report = {"database": database, "broker": broker_status(), "log": log}
    report["workers"] = workers_status() if database["status"] == "up" else {"status": "unknown"}
    # A log the console did not write is as serious as no database: monitors must see it.
    healthy = database["status"] == "up" and log["status"] == "ok"
    return (200 if healthy else 503), report
