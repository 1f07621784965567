"""The periodic Celery task behind reviewer e-mail (does nothing while EMAIL_HOST is empty)."""

from __future__ import annotations

from celery import shared_task

from console.notifications.digest import notifications_run


@shared_task(name="console.notify_reviewers", ignore_result=True)
def notify_reviewers() -> None:
    notifications_run()
