"""Every pair of writers of a slot's counters, racing on the real database (docs/locking.md):

* first-come booking × rush allocation — a booking that read the slot before the rush opened
  must not take it after (the ledger's FIRST_COME condition);
* first-come booking × rebooking — rebooking locks its slots and writes through conditional
  UPDATEs, so concurrent bookings are neither lost nor overbooked;
* reschedule × cancel of one booking — both are conditional on the booking's status, so
  exactly one wins and the capacity moves once.

Each has a negative control: the same race with the guard taken away, which must show the
damage (a control that cannot fail proves nothing). Threads have their own connections and
start together at a barrier; a short sleep between the read and the write makes the
interleaving that matters happen every time."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tests.booking.test_concurrency import run_together
from trafficdesk.booking import holders, ledger, rebooking, rush, services
from trafficdesk.booking.models import Booking, RushRequest, RushWindow, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.identity import id_digest
from trafficdesk.core.validators import mask_resident_id
from trafficdesk.core.vocabulary import HOLDING_STATUSES, BookingStatus
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint

from .conftest import make_id

SLEEP = 0.15


def consistent(slot: Slot) -> bool:
    """The counters equal the bookings that hold the slot (no release pending)."""
    slot.refresh_from_db()
    minutes = list(
        Booking.objects.filter(slot=slot, status__in=HOLDING_STATUSES).values_list(
            "minutes", flat=True
        )
    )
    return slot.booked_people == len(minutes) and slot.booked_minutes == sum(minutes)


def never_over() -> bool:
    return not Slot.objects.filter(
        Q(booked_people__gt=F("capacity_people")) | Q(booked_minutes__gt=F("capacity_minutes"))
    ).exists()


# --- first-come booking × rush allocation -----------------------------------------------------


def _rush_with_applicants(slot: Slot, make_citizen: Any, count: int) -> RushWindow:
    now = timezone.now()
    window = RushWindow.objects.create(
        service_point=slot.service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now - timedelta(hours=2),
        closes_at=now - timedelta(seconds=1),
        seed="race",
    )
    for i in range(count):
        number = make_id(70_000 + i)
        RushRequest.objects.create(
            rush=window,
            holder=make_citizen(),
            id_digest=id_digest(number),
            id_masked=mask_resident_id(number),
            applied_on=timezone.localdate(),
        )
    return window


def _race_booking_against_the_rush(
    slot: Slot, window: RushWindow, bookers: list[Any], monkeypatch: Any
) -> list[Any]:
    """The bookers read the slot while it is not in a rush; then the rush opens on it; then
    the bookers try to take capacity; then the draw is allocated."""
    opened = threading.Event()
    condition = holders.not_barred_sql  # built right before the booking statement is sent

    def condition_after_the_rush_opened(*args: Any, **kwargs: Any) -> Any:
        opened.wait(5)
        return condition(*args, **kwargs)

    monkeypatch.setattr(holders, "not_barred_sql", condition_after_the_rush_opened)

    def work(i: int) -> Any:
        if i == 0:
            time.sleep(SLEEP)  # the bookers have read the slot
            Slot.objects.filter(pk=slot.pk, rush__isnull=True).update(rush=window)
            opened.set()
            time.sleep(SLEEP)  # the bookers try to take it
            return rush.allocate_rush(window.pk)
        return services.book(bookers[i - 1], slot.pk, ["P01"], make_id(71_000 + i), notify=False)

    return run_together(len(bookers) + 1, work)


def test_race_first_come_booking_and_rush_allocation(
    transactional_db: Any, make_citizen: Any, make_slot: Any, monkeypatch: Any
) -> None:
    slot = make_slot(people=6)
    window = _rush_with_applicants(slot, make_citizen, 6)
    results = _race_booking_against_the_rush(
        slot, window, [make_citizen() for _ in range(8)], monkeypatch
    )
    allocation, bookings = results[0], results[1:]
    assert allocation == {"won": 6, "lost": 0}, results
    assert all(isinstance(r, services.BookingRefused) for r in bookings), bookings
    assert {r.code for r in bookings} == {"slot.rush"}
    assert not Booking.objects.filter(slot=slot, rush_request__isnull=True).exists()
    assert consistent(slot) and never_over()


def test_negative_control_without_the_rush_guard_first_come_takes_the_draws_places(
    transactional_db: Any, make_citizen: Any, make_slot: Any, monkeypatch: Any
) -> None:
    """The ledger's take without its rush guard: bookings that read the slot before
    the rush opened take its places, and the draw gives out fewer than it announced."""

    statement = ledger.take_statement

    def take_ignoring_the_rush(*args: Any, **kwargs: Any) -> tuple[str, list[Any]]:
        sql, params = statement(*args, **kwargs)
        return sql.replace(" AND booking_slot.rush_id IS NULL", ""), params

    monkeypatch.setattr(ledger, "take_statement", take_ignoring_the_rush)
    slot = make_slot(people=6)
    window = _rush_with_applicants(slot, make_citizen, 6)
    results = _race_booking_against_the_rush(
        slot, window, [make_citizen() for _ in range(8)], monkeypatch
    )
    first_come = Booking.objects.filter(slot=slot, rush_request__isnull=True).count()
    won = results[0]["won"] if isinstance(results[0], dict) else 0
    assert first_come > 0 and won < 6, (
        f"the race did not happen: {first_come} first-come, {won} won; the control proves nothing"
    )


# --- first-come booking × rebooking ----------------------------------------------------------


def _source_and_target(make_slot: Any, make_citizen: Any, moved: int) -> tuple[Slot, Slot]:
    """`moved` bookings at the Guiyang hall a month ahead, and the one later slot at the
    Qingzhen branch they can move to (the only first-come slot of the city after theirs)."""
    source = make_slot(people=moved, hours_ahead=24 * 30)
    target = make_slot(people=moved + 3, hours_ahead=24 * 30 + 2, point="GY-BR-QZ")
    for i in range(moved):
        services.book(make_citizen(), source.pk, ["P01"], make_id(72_000 + i), notify=False)
    return source, target


def _close_the_hall() -> None:
    from trafficdesk.accounts.models import User

    set_risk_level(
        User.objects.get(username="gz_admin"),
        Region.objects.get(code="520115"),
        "HIGH",
        reason="race",
    )


def test_race_first_come_booking_and_rebooking(
    transactional_db: Any, make_citizen: Any, make_slot: Any, monkeypatch: Any
) -> None:
    source, target = _source_and_target(make_slot, make_citizen, moved=3)
    _close_the_hall()
    locked = ledger.lock
    holding = threading.Event()

    def slow_lock(slot_ids: Any) -> Any:
        found = locked(slot_ids)
        holding.set()
        time.sleep(SLEEP)  # hold the locks while the bookers try the target slot
        return found

    monkeypatch.setattr(ledger, "lock", slow_lock)
    bookers = [make_citizen() for _ in range(5)]

    def work(i: int) -> Any:
        if i == 0:
            return rebooking.rebook_affected()
        holding.wait(5)  # rebooking holds its locks now
        return services.book(bookers[i - 1], target.pk, ["P01"], make_id(73_000 + i), notify=False)

    results = run_together(6, work)
    unexpected = [
        r
        for r in results[1:]
        if not isinstance(r, Booking | services.BookingRefused | services.Busy)
    ]
    assert not unexpected and isinstance(results[0], rebooking.RebookResult), results
    assert results[0].moved + results[0].cancelled == 3
    assert consistent(source) and consistent(target) and never_over()
    target.refresh_from_db()
    assert target.booked_people == 3 + sum(isinstance(r, Booking) for r in results[1:]) <= 6


def test_negative_control_rebooking_that_writes_counters_computed_in_python_loses_bookings(
    transactional_db: Any, make_citizen: Any, make_slot: Any
) -> None:
    """The old way: read the counters, decide in Python, write the numbers back. Bookings
    that land in between are lost from the counters."""
    source, target = _source_and_target(make_slot, make_citizen, moved=3)
    bookers = [make_citizen() for _ in range(3)]
    read = threading.Event()

    def naive_rebook() -> None:
        counters = Slot.objects.values("booked_people", "booked_minutes").get(pk=target.pk)
        read.set()
        time.sleep(SLEEP)
        moving = list(Booking.objects.filter(slot=source, status="active"))
        Booking.objects.filter(pk__in=[b.pk for b in moving]).update(slot=target)
        Slot.objects.filter(pk=target.pk).update(
            booked_people=counters["booked_people"] + len(moving),
            booked_minutes=counters["booked_minutes"] + sum(b.minutes for b in moving),
        )
        Slot.objects.filter(pk=source.pk).update(booked_people=0, booked_minutes=0)

    def work(i: int) -> Any:
        if i == 0:
            return naive_rebook()
        read.wait(5)
        return services.book(bookers[i - 1], target.pk, ["P01"], make_id(74_000 + i), notify=False)

    run_together(4, work)
    assert not consistent(target), "the naive rebooking did not lose a booking this time"


# --- reschedule × cancel ---------------------------------------------------------------------


def _booked(make_slot: Any, make_citizen: Any, count: int) -> tuple[Slot, Slot, list[Booking]]:
    source = make_slot(people=count)
    target = make_slot(people=count)
    made = [
        services.book(make_citizen(), source.pk, ["P01"], make_id(75_000 + i), notify=False)
        for i in range(count)
    ]
    return source, target, made


def test_race_reschedule_and_cancel_of_one_booking(
    transactional_db: Any, make_citizen: Any, make_slot: Any, settings: Any
) -> None:
    settings.BOOKING_RELEASE_DELAY_SECONDS = 0
    source, target, made = _booked(make_slot, make_citizen, 4)

    def work(i: int) -> Any:
        booking = Booking.objects.select_related("slot", "holder").get(pk=made[i // 2].pk)
        if i % 2 == 0:
            return services.reschedule(booking.holder, booking, target.pk)
        return services.cancel(booking.holder, booking, notify=False)

    results = run_together(8, work)
    assert not [r for r in results if not isinstance(r, Booking | services.BookingRefused)]
    for booking in made:
        booking.refresh_from_db()
        assert (booking.status, booking.slot_id) in {
            (BookingStatus.CANCELLED, source.pk),
            (BookingStatus.ACTIVE, target.pk),
            (BookingStatus.CANCELLED, target.pk),  # rescheduled first, then cancelled
        }
    assert consistent(source) and consistent(target) and never_over()


def test_negative_control_unconditional_reschedule_and_cancel_move_capacity_twice(
    transactional_db: Any, make_citizen: Any, make_slot: Any, settings: Any
) -> None:
    """Both read "active", both write: the booking ends cancelled, yet the target slot keeps
    its capacity (or the source gives back twice)."""
    settings.BOOKING_RELEASE_DELAY_SECONDS = 0
    source, target, made = _booked(make_slot, make_citizen, 4)

    def naive(booking_id: int, reschedule: bool) -> None:
        booking = Booking.objects.get(pk=booking_id)
        if booking.status != "active":
            return
        time.sleep(SLEEP)
        minutes = booking.minutes
        if reschedule:
            Booking.objects.filter(pk=booking_id).update(slot=target)
            Slot.objects.filter(pk=target.pk).update(
                booked_people=F("booked_people") + 1, booked_minutes=F("booked_minutes") + minutes
            )
        else:
            Booking.objects.filter(pk=booking_id).update(status="cancelled")
        Slot.objects.filter(pk=booking.slot_id).update(
            booked_people=F("booked_people") - 1, booked_minutes=F("booked_minutes") - minutes
        )

    run_together(8, lambda i: naive(made[i // 2].pk, i % 2 == 0))
    assert not (consistent(source) and consistent(target)), "the naive code did not race"


@pytest.mark.parametrize("field", ["booked_minutes", "booked_people"])
def test_the_consistency_check_sees_a_wrong_counter(
    db: Any, make_citizen: Any, make_slot: Any, field: str
) -> None:
    """The checker the races rely on fails when a counter is off by one."""
    slot = make_slot(people=3)
    services.book(make_citizen(), slot.pk, ["P01"], make_id(76_000), notify=False)
    assert consistent(slot)
    with transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(**{field: F(field) + 1})
    assert not consistent(slot)
    assert ServicePoint.objects.exists()
