"""What /healthz reports: the database, the broker and the workers, each up or down."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

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


def health_report() -> tuple[int, dict[str, Any]]:
    database = database_status()
    report = {"database": database, "broker": broker_status()}
    report["workers"] = workers_status() if database["status"] == "up" else {"status": "unknown"}
    return (200 if database["status"] == "up" else 503), report
