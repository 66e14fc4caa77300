"""Concurrent check-ins never overfill a zone; concurrent windows never call the same ticket."""

from __future__ import annotations

from typing import Any

from tests.booking.test_concurrency import run_together
from trafficdesk.hallqueue import services
from trafficdesk.hallqueue.models import Call, Ticket
from trafficdesk.sites.models import Window, Zone


def test_parallel_check_ins_never_exceed_the_zone_cap(
    transactional_db: Any, hall: Any, p01: Any, plate_zone: Any
) -> None:
    Zone.objects.filter(pk=plate_zone.pk).update(occupancy_cap=4, present=0)
    results = run_together(16, lambda i: services.walk_in(hall, p01))
    tickets = [r for r in results if isinstance(r, Ticket)]
    assert len(tickets) == 16, [r for r in results if not isinstance(r, Ticket)]
    assert len({t.label for t in tickets}) == 16
    assert sum(t.status == "waiting" for t in tickets) == 4
    assert Zone.objects.get(pk=plate_zone.pk).present == 4


def test_parallel_windows_never_call_the_same_ticket(
    transactional_db: Any, users: dict[str, Any], hall: Any, p01: Any, plate_zone: Any
) -> None:
    Zone.objects.filter(pk=plate_zone.pk).update(occupancy_cap=500, present=0)
    for _ in range(30):
        services.walk_in(hall, p01)
    windows = list(
        Window.objects.filter(service_point=hall, number__in=[2, 3, 4])
        .select_related("service_point__region")
        .prefetch_related("businesses__category")
    )
    Window.objects.filter(pk__in=[w.pk for w in windows]).update(is_open=True)
    for w in windows:
        w.is_open = True
    clerk = users["clerk"]

    def work(i: int) -> list[int]:
        window = windows[i % len(windows)]
        called = []
        while (ticket := services.call_next(clerk, window)) is not None:
            called.append(ticket.pk)
        return called

    results = run_together(6, work)
    errors = [r for r in results if not isinstance(r, list)]
    assert not errors, errors
    called = [pk for r in results for pk in r]
    assert len(called) == len(set(called)) == 30
    assert Call.objects.count() == 30
