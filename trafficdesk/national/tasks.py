"""Background refresh of this node's national rows (django-tasks; `manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def refresh_snapshot_task() -> int:
    """Recompute this node's read-model rows; returns how many county rows it wrote."""
    # local import: the task module is loaded by django-tasks before the models are ready
    from trafficdesk.national.services import refresh_snapshot

    return refresh_snapshot().counties
