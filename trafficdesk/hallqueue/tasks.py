"""Background work of the hall queue (django-tasks; `manage.py db_worker` runs it).

After a change of the rules (a county's risk level, a region's phase, a policy version:
policy.services.policy_changed, sent after its commit) the tickets queued for a business
that is no longer offered where they wait are ended, and the bookings whose time has begun
there are moved or cancelled (hallqueue.services.end_stranded_tickets).
A task on commit rather than the change's own transaction: every kind of change reaches it by
the one signal, a change that takes effect later is handled when it takes effect, the
administrator's change never waits for the halls' row locks, and a hall that is busy is
tried again a moment later. Idempotent: a second run finds nothing left to end.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from trafficdesk.booking import ledger
from trafficdesk.booking.tasks import RETRY_AFTER, enqueue_after
from trafficdesk.core.locking import Busy
from trafficdesk.policy.models import DomainEvent


@task()
def end_stranded_task(event_id: int) -> dict[str, int]:
    """End the queued tickets that a change of the rules (the DomainEvent) closed."""
    # local import: services imports booking.rebooking, whose import chain comes back here
    from trafficdesk.hallqueue.services import end_stranded_tickets

    nothing = {"ended": 0, "moved": 0, "cancelled": 0, "begun_moved": 0, "begun_cancelled": 0}
    event = DomainEvent.objects.select_related("region").filter(pk=event_id).first()
    if event is None:
        return nothing
    if event.effective_from > timezone.now():  # run too early (a backend that cannot defer)
        enqueue_after(end_stranded_task, event.effective_from, event_id)
        return nothing
    try:
        result = end_stranded_tickets(event.region)
    except (Busy, ledger.LedgerError):
        enqueue_after(end_stranded_task, timezone.now() + RETRY_AFTER, event_id)
        return nothing
    return {
        "ended": result.ended,
        "moved": result.moved,
        "cancelled": result.cancelled,
        "begun_moved": result.begun_moved,
        "begun_cancelled": result.begun_cancelled,
    }


def enqueue_end_stranded(sender: Any, event: DomainEvent, **kwargs: Any) -> None:
    """Subscribed to policy.services.policy_changed (sent after the change's commit); a
    change that takes effect later is handled when it takes effect."""
    run_after = event.effective_from if event.effective_from > timezone.now() else None
    transaction.on_commit(
        lambda: enqueue_after(end_stranded_task, run_after, event.pk), robust=True
    )
