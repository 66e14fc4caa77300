"""Background work (django-tasks; `manage.py db_worker` runs it)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task


@task()
def release_capacity_task() -> int:
    from trafficdesk.booking.services import release_due_capacity

    return release_due_capacity()


@task()
def rebook_task(event_id: int) -> dict[str, int]:
    """Idempotent: a handled event is skipped, and rebooking itself changes nothing twice."""
    from trafficdesk.booking.rebooking import rebook_affected
    from trafficdesk.policy.models import DomainEvent

    event = DomainEvent.objects.select_related("region").filter(pk=event_id).first()
    if event is None or event.handled_at is not None:
        return {"checked": 0, "moved": 0, "cancelled": 0}
    result = rebook_affected(event.region.code if event.region else None)
    DomainEvent.objects.filter(pk=event_id, handled_at__isnull=True).update(
        handled_at=timezone.now()
    )
    return {"checked": result.checked, "moved": result.moved, "cancelled": result.cancelled}


def enqueue_after(task_: Any, when: Any, *args: Any) -> None:
    """Enqueue now, to run no earlier than `when` where the backend can defer work."""
    backend = task_.get_backend()
    if when is not None and backend.supports_defer:
        task_.using(run_after=when).enqueue(*args)
    else:
        task_.enqueue(*args)


def enqueue_rebooking(sender: Any, event: Any, **kwargs: Any) -> None:
    """Subscribed to policy.services.policy_changed (sent after commit). A change that takes
    effect later is rebooked when it takes effect."""
    run_after = event.effective_from if event.effective_from > timezone.now() else None
    transaction.on_commit(lambda: enqueue_after(rebook_task, run_after, event.pk))


@task()
def allocate_due_rushes() -> int:
    """Allocate every rush window whose applications have closed."""
    from trafficdesk.booking.models import RushStatus, RushWindow
    from trafficdesk.booking.rush import allocate_rush

    due = RushWindow.objects.filter(
        status=RushStatus.OPEN, closes_at__lte=timezone.now()
    ).values_list("id", flat=True)
    return sum(1 for rush_id in due if allocate_rush(rush_id)["won"] >= 0)
