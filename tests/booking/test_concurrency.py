"""Concurrent bookings against the real database, in the style of pretix's concurrency tests:
threads with their own connections, a barrier so that they start together, and a negative
control that shows the race is real when the capacity is not taken atomically."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection, connections, transaction
from django.db.models import F

from trafficdesk.booking import services
from trafficdesk.booking.models import Booking, BookingItem, Slot
from trafficdesk.core.validators import mask_resident_id

from .conftest import make_id


def run_together(workers: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    close_old_connections()
    return results


def naive_book(holder: Any, slot_id: int, minutes: int, number: str) -> Booking:
    """The race, on purpose: read the counter, decide, write it back (no lock, no condition)."""
    with transaction.atomic():
        slot = Slot.objects.get(pk=slot_id)
        if slot.booked_people >= slot.capacity_people:
            raise services.BookingRefused("slot.full", "full")
        time.sleep(0.01)
        booking = Booking.objects.create(
            token=f"naive-{number}",
            holder=holder,
            slot_id=slot_id,
            id_digest=services.id_digest(number),
            id_masked=mask_resident_id(number),
            minutes=minutes,
        )
        Slot.objects.filter(pk=slot_id).update(
            booked_people=slot.booked_people + 1, booked_minutes=slot.booked_minutes + minutes
        )
        return booking


@pytest.mark.parametrize(("workers", "capacity"), [(20, 5), (30, 1)])
def test_parallel_bookings_exactly_capacity_succeed(
    transactional_db: Any, make_citizen: Any, make_slot: Any, workers: int, capacity: int
) -> None:
    slot = make_slot(people=capacity)
    holders = [make_citizen() for _ in range(workers)]
    results = run_together(
        workers,
        lambda i: services.book(holders[i], slot.pk, ["P01"], make_id(9000 + i), notify=False),
    )
    booked = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, services.BookingRefused)]
    busy = [r for r in results if isinstance(r, services.Busy)]
    unexpected = [
        r for r in results if not isinstance(r, Booking | services.BookingRefused | services.Busy)
    ]
    assert not unexpected, unexpected
    assert len(booked) == capacity, (len(booked), len(refused), len(busy))
    assert all(r.code == "slot.full" for r in refused)
    slot.refresh_from_db()
    assert (
        slot.booked_people == capacity == Booking.objects.filter(slot=slot, status="active").count()
    )


def test_parallel_bookings_with_the_same_id_number_yield_one(
    transactional_db: Any, make_citizen: Any, make_slot: Any
) -> None:
    slot = make_slot(people=10)
    number = make_id(8000)
    holders = [make_citizen() for _ in range(8)]
    results = run_together(
        8, lambda i: services.book(holders[i], slot.pk, ["P01"], number, notify=False)
    )
    assert sum(isinstance(r, Booking) for r in results) == 1
    assert (
        BookingItem.objects.filter(id_digest=services.id_digest(number), active=True).count() == 1
    )
    slot.refresh_from_db()
    assert slot.booked_people == 1


def test_negative_control_the_race_is_real_without_the_conditional_update(
    transactional_db: Any, make_citizen: Any, make_slot: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite opens every transaction IMMEDIATE, which serialises even the naive code"
        )
    slot = make_slot(people=3)
    holders = [make_citizen() for _ in range(12)]
    results = run_together(12, lambda i: naive_book(holders[i], slot.pk, 20, make_id(7000 + i)))
    created = Booking.objects.filter(slot=slot).count()
    assert not [r for r in results if not isinstance(r, Booking | services.BookingRefused)]
    assert created > 3, "the naive code did not race this time; the control proves nothing"


def test_parallel_cancel_and_rebook_never_overbook(
    transactional_db: Any, make_citizen: Any, make_slot: Any, settings: Any
) -> None:
    settings.BOOKING_RELEASE_DELAY_SECONDS = 0
    slot = make_slot(people=4)
    holders = [make_citizen() for _ in range(4)]
    first = [
        services.book(holders[i], slot.pk, ["P01"], make_id(6000 + i), notify=False)
        for i in range(4)
    ]
    newcomers = [make_citizen() for _ in range(8)]

    def work(i: int) -> Any:
        if i < 4:
            return services.cancel(holders[i], first[i], notify=False)
        return services.book(newcomers[i - 4], slot.pk, ["P01"], make_id(6100 + i), notify=False)

    run_together(12, work)
    slot.refresh_from_db()
    active = Booking.objects.filter(slot=slot, status="active").count()
    assert slot.booked_people == active <= 4
    assert Slot.objects.filter(booked_people__gt=F("capacity_people")).count() == 0
