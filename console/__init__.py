"""Project wiring and the reviewer web UI; loads the Celery app with Django."""

from console.celery import app as celery_app

__all__ = ["celery_app"]
