"""Background work of the outbox (django-tasks; `manage.py db_worker` runs it)."""

from __future__ import annotations

from django_tasks import task

from trafficdesk.notify import delivery


@task()
def deliver_task(ids: list[int]) -> int:
    """Send these queued notices, then anything else still queued: a crash between a commit
    and its delivery leaves rows queued, and the next run sends them."""
    return delivery.deliver(ids) + delivery.deliver_pending()
