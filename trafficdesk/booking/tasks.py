"""Background work (django-tasks; `manage.py db_worker` runs it). Each task is idempotent,
and a task that finds its rows locked ("busy") runs again a moment later."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task
from django_tasks.base import Task

from trafficdesk.booking import ledger, rebooking, reminders, rush
from trafficdesk.booking.models import RushStatus, RushWindow
from trafficdesk.core import localcache
from trafficdesk.core.locking import Busy
from trafficdesk.policy.models import DomainEvent

RETRY_AFTER = timedelta(seconds=5)
log = logging.getLogger(__name__)


def enqueue_after(task_: Task[Any, Any], when: datetime | None, *args: Any) -> None:
    """Enqueue now, to run no earlier than `when` where the backend can defer work."""
    if when is not None and task_.get_backend().supports_defer:
        task_.using(run_after=when).enqueue(*args)
    else:
        task_.enqueue(*args)


def _again(task_: Task[Any, Any], *args: Any) -> None:
    enqueue_after(task_, timezone.now() + RETRY_AFTER, *args)


@task()
def generate_point_slots_task(point_id: int) -> int:
    """A new or changed hall's slots over the booking horizon (sites.services enqueues it)."""
    # local import: booking.services imports this module (its tasks), and the models load
    # after the app configs
    from trafficdesk.booking.services import generate_point_slots
    from trafficdesk.sites.models import ServicePoint

    point = ServicePoint.objects.select_related("region").filter(pk=point_id).first()
    if point is None:
        return 0
    try:
        return generate_point_slots(point)
    except Busy:
        _again(generate_point_slots_task, point_id)
        return 0


@task()
def release_capacity_task() -> int:
    """Return due capacity; a place freed in a draw's slot goes to its waiting list."""
    try:
        released = ledger.release_due()
        rush.fill_waiting_lists()
    except Busy:
        _again(release_capacity_task)
        return 0
    return released


@task()
def fill_waiting_lists_task() -> int:
    try:
        return rush.fill_waiting_lists()
    except Busy:
        _again(fill_waiting_lists_task)
        return 0


@task()
def expire_offers_task() -> int:
    """Waiting-list offers not answered in time lapse; the next on the list is offered."""
    try:
        return rush.expire_offers()
    except Busy:
        _again(expire_offers_task)
        return 0


@task()
def rebook_task(event_id: int) -> dict[str, int]:
    """Idempotent: a handled event is skipped, and rebooking itself changes nothing twice."""
    event = DomainEvent.objects.select_related("region").filter(pk=event_id).first()
    if event is None or event.handled_at is not None:
        return {"checked": 0, "moved": 0, "cancelled": 0}
    try:
        result = rebooking.rebook_affected(event.region.code if event.region else None)
    except (Busy, ledger.LedgerError) as exc:
        # Locked, or the counters moved under a chunk (it rolled back): run again shortly.
        if isinstance(exc, ledger.LedgerError):
            log.warning("rebooking for event %s runs again: %s", event_id, exc)
        _again(rebook_task, event_id)
        return {"checked": 0, "moved": 0, "cancelled": 0}
    DomainEvent.objects.filter(pk=event_id, handled_at__isnull=True).update(
        handled_at=timezone.now()
    )
    return {"checked": result.checked, "moved": result.moved, "cancelled": result.cancelled}


def enqueue_rebooking(sender: Any, event: DomainEvent, **kwargs: Any) -> None:
    """Subscribed to policy.services.policy_changed (sent after commit). A change that takes
    effect later is rebooked when it takes effect."""
    run_after = event.effective_from if event.effective_from > timezone.now() else None
    transaction.on_commit(lambda: enqueue_after(rebook_task, run_after, event.pk), robust=True)


@task()
def allocate_due_rushes() -> int:
    """Allocate every rush window whose applications have closed."""
    due = RushWindow.objects.filter(
        status=RushStatus.OPEN, closes_at__lte=timezone.now()
    ).values_list("id", flat=True)
    done = 0
    for rush_id in due:
        try:
            rush.allocate_rush(rush_id)
        except Busy:
            _again(allocate_due_rushes)
            continue
        done += 1
    return done


@task()
def remind_task(day: str) -> int:
    """Send the day-before reminders of the bookings on `day` (ISO date). Idempotent: each
    booking is claimed once (booking.reminders). Run too early (a backend that cannot
    defer), it waits for the reminder moment."""
    visit_day = date.fromisoformat(day)
    if timezone.now() < reminders.reminder_moment(visit_day):
        enqueue_after(remind_task, reminders.reminder_moment(visit_day), day)
        return 0
    try:
        return reminders.send_reminders(visit_day)
    except Busy:
        _again(remind_task, day)
        return 0


#: The days this process has recently scheduled reminders for: one task per day and process
#: every LOCAL_CACHE_SECONDS at most, not one per booking (a rush books thousands a second).
_reminders_scheduled = localcache.ttl_cache(maxsize=64)


def schedule_reminders(starts_at: datetime) -> None:
    """After the caller's commit: make sure the reminders of the visit's day will be sent.
    Nothing when the reminder moment has passed (the booking was made the day before, after
    it, or on the day). Several tasks for one day send each reminder once."""
    day = reminders.day_of(starts_at)
    moment = reminders.reminder_moment(day)
    if moment <= timezone.now() or localcache.peek(_reminders_scheduled, day):
        return
    localcache.put(_reminders_scheduled, day, True)
    transaction.on_commit(lambda: enqueue_after(remind_task, moment, day.isoformat()), robust=True)


def enqueue_point_slots(sender: object, point_id: int, **kwargs: object) -> None:
    """Receives sites.services.hall_slots_may_change (after the commit): make the slots."""
    generate_point_slots_task.enqueue(point_id)
