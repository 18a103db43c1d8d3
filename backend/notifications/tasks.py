"""Messaging's jobs (procrastinate autodiscovers ``tasks``)."""

from __future__ import annotations

from backend.jobs.runtime import clinic_task, periodic_clinic_task
from backend.notifications import delivery


@clinic_task(name="notifications.send")
def send_notification(*, notification_id: int) -> None:
    delivery.notification_send(notification_id=notification_id)


@periodic_clinic_task(cron="0 14 * * *", name="notifications.recall")  # 09:00 in Lima
def plan_recalls(*, timestamp: int) -> None:
    delivery.recall_plan()
