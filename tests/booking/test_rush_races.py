"""The draw's waiting list, racing on the real database (docs/locking.md):

* waiting-list fill × waiting-list fill — two workers offer the places freed in a draw at
  once; the draw's row lock serialises them, so a seat is offered once;
* offer accept × offer accept — two applicants accept offers for the last seat of a slot;
  the ledger's conditional take lets one in and refuses the other;
* allocation × cancellations — bookings held in a draw's slots since before it opened are
  cancelled while it allocates; never oversold, the counters equal the bookings, and every
  seat freed is either drawn or offered from the waiting list.

The first two have a negative control (the same race with the guard taken away, which must
show the damage); the controls run on PostgreSQL, since SQLite serialises write transactions.
Threads have their own connections and start together at a barrier."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.db.models import F
from django.utils import timezone

from tests.booking.test_concurrency import run_together
from tests.booking.test_races import consistent, never_over
from trafficdesk.booking import ledger, rush, services
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import (
    Booking,
    RushOffer,
    RushRequest,
    RushStatus,
    RushWindow,
    Slot,
)
from trafficdesk.catalog.models import Business
from trafficdesk.core.identity import id_digest
from trafficdesk.core.locking import Busy
from trafficdesk.core.validators import mask_resident_id
from trafficdesk.core.vocabulary import HOLDING_STATUSES, OfferStatus

from .conftest import make_id

SLEEP = 0.15


@pytest.fixture
def concurrent_writers(transactional_db: Any) -> None:
    """The negative controls need two write transactions open at once: PostgreSQL. SQLite
    opens every write transaction IMMEDIATE, so there the race cannot happen at all."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises write transactions (IMMEDIATE): no race to show")


def _allocated_draw(slot: Slot, make_citizen: Any, waiting: int) -> RushWindow:
    """An allocated draw over `slot` (full) with `waiting` applicants on its waiting list."""
    now = timezone.now()
    window = RushWindow.objects.create(
        service_point=slot.service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now - timedelta(hours=3),
        closes_at=now - timedelta(hours=2),
        seed="race",
        status=RushStatus.ALLOCATED,
    )
    Slot.objects.filter(pk=slot.pk).update(rush=window)
    for i in range(waiting):
        number = make_id(75_000 + i)
        RushRequest.objects.create(
            rush=window,
            holder=make_citizen(),
            id_digest=id_digest(number),
            id_masked=mask_resident_id(number),
            applied_on=timezone.localdate(),
            won=False,
            draw_rank=10 + i,
        )
    return window


def _two_fills(window: RushWindow) -> list[Any]:
    def work(_i: int) -> Any:
        return rush.fill_waiting_list(window.pk)

    return run_together(2, work)


def _slow_free_seats(monkeypatch: Any) -> None:
    """Both fills read the free seats, then pause before offering them."""
    free = rush._free_seats

    def slow(*args: Any, **kwargs: Any) -> Any:
        found = free(*args, **kwargs)
        time.sleep(SLEEP)
        return found

    monkeypatch.setattr(rush, "_free_seats", slow)


def test_race_two_waiting_list_fills_offer_a_freed_seat_once(
    transactional_db: Any, make_citizen: Any, make_slot: Any, monkeypatch: Any
) -> None:
    slot = make_slot(people=1, hours_ahead=72)  # one seat, free: a winner cancelled
    window = _allocated_draw(slot, make_citizen, waiting=3)
    _slow_free_seats(monkeypatch)
    results = _two_fills(window)
    assert sorted(r for r in results if not isinstance(r, Busy)) in ([0, 1], [1]), results
    assert RushOffer.objects.filter(slot=slot, status=OfferStatus.PENDING).count() == 1


def test_negative_control_without_the_draws_row_lock_both_fills_offer_the_seat(
    concurrent_writers: None, make_citizen: Any, make_slot: Any, monkeypatch: Any
) -> None:
    """Without the draw's row lock both fills count the seat as free and offer it to the
    first on the list: only the one-offer-per-application constraint stops the second, as
    an error instead of nothing to do."""
    slot = make_slot(people=1, hours_ahead=72)
    window = _allocated_draw(slot, make_citizen, waiting=3)
    _slow_free_seats(monkeypatch)
    monkeypatch.setattr(
        RushWindow.objects, "select_for_update", lambda *a, **k: RushWindow.objects.all()
    )
    results = _two_fills(window)
    assert any(isinstance(r, IntegrityError) for r in results), (
        f"the race did not happen ({results}); the control proves nothing"
    )


def _two_offers_for_one_seat(slot: Slot, make_citizen: Any) -> list[RushOffer]:
    window = _allocated_draw(slot, make_citizen, waiting=2)
    now = timezone.now()
    return [
        RushOffer.objects.create(
            request=request, slot=slot, offered_at=now, expires_at=now + timedelta(hours=6)
        )
        for request in RushRequest.objects.filter(rush=window).order_by("draw_rank")
    ]


def _two_accepts(offers: list[RushOffer]) -> list[Any]:
    def work(i: int) -> Any:
        offer = RushOffer.objects.select_related("request__holder").get(pk=offers[i].pk)
        return rush.accept_offer(offer.request.holder, offer)

    return run_together(2, work)


def test_race_two_accepts_for_the_last_seat_book_it_once(
    transactional_db: Any, make_citizen: Any, make_slot: Any
) -> None:
    slot = make_slot(people=1, hours_ahead=72)
    results = _two_accepts(_two_offers_for_one_seat(slot, make_citizen))
    booked = [r for r in results if isinstance(r, Booking)]
    assert len(booked) == 1, results
    refused = [r for r in results if r not in booked]
    assert all(isinstance(r, (BookingRefused, Busy)) for r in refused), results
    assert all(r.code == "rush.offer_gone" for r in refused if isinstance(r, BookingRefused))
    assert consistent(slot) and never_over()


def test_negative_control_without_the_room_check_both_accepts_reach_the_write(
    concurrent_writers: None, make_citizen: Any, make_slot: Any, monkeypatch: Any
) -> None:
    """Without the seat check under the slot's lock and the ledger's room condition, both
    accepts write the slot's counters: only the database's CHECK constraint (the last line
    of defence) stops the second, as an error instead of a refusal."""

    def take_without_room(
        rush_id: int, slot_id: int, people: int, minutes: int, general: int
    ) -> None:
        Slot.objects.filter(pk=slot_id).update(
            booked_people=F("booked_people") + people,
            booked_minutes=F("booked_minutes") + minutes,
            booked_general_minutes=F("booked_general_minutes") + general,
        )

    monkeypatch.setattr(ledger, "take_for_rush", take_without_room)
    monkeypatch.setattr(rush, "_seats", lambda *args: 1)
    slot = make_slot(people=1, hours_ahead=72)
    results = _two_accepts(_two_offers_for_one_seat(slot, make_citizen))
    assert any(isinstance(r, IntegrityError) for r in results), (
        f"the race did not happen ({results}); the control proves nothing"
    )


@pytest.mark.parametrize("cancellations", [3])
def test_race_allocation_and_cancellations_never_oversell(
    transactional_db: Any,
    make_citizen: Any,
    make_slot: Any,
    monkeypatch: Any,
    settings: Any,
    cancellations: int,
) -> None:
    settings.BOOKING_RELEASE_DELAY_SECONDS = 0  # a cancelled place returns at once
    slot = make_slot(people=6, hours_ahead=72)
    held = [
        services.book(make_citizen(), slot.pk, ["P01"], make_id(76_000 + i), notify=False)
        for i in range(cancellations)
    ]
    now = timezone.now()
    window = RushWindow.objects.create(
        service_point=slot.service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now - timedelta(hours=2),
        closes_at=now - timedelta(seconds=1),
        seed="race",
    )
    Slot.objects.filter(pk=slot.pk).update(rush=window)
    for i in range(8):
        number = make_id(77_000 + i)
        RushRequest.objects.create(
            rush=window,
            holder=make_citizen(),
            id_digest=id_digest(number),
            id_masked=mask_resident_id(number),
            applied_on=timezone.localdate(),
        )
    places = rush._places

    def slow_places(*args: Any, **kwargs: Any) -> Any:
        found = places(*args, **kwargs)
        time.sleep(SLEEP)  # the cancellations arrive while the allocation holds the slot
        return found

    monkeypatch.setattr(rush, "_places", slow_places)

    def work(i: int) -> Any:
        if i == 0:
            return rush.allocate_rush(window.pk)
        time.sleep(SLEEP / 3 * (i % 2))  # some before the allocation's lock, some during
        booking = Booking.objects.select_related("holder", "slot").get(pk=held[i - 1].pk)
        return services.cancel(booking.holder, booking, notify=False)

    results = run_together(cancellations + 1, work)
    assert isinstance(results[0], dict), results
    assert all(isinstance(r, (Booking, Busy)) for r in results[1:]), results
    rush.fill_waiting_lists()
    slot.refresh_from_db()
    assert consistent(slot) and never_over()
    holding = Booking.objects.filter(slot=slot, status__in=HOLDING_STATUSES).count()
    offered = RushOffer.objects.filter(slot=slot, status=OfferStatus.PENDING).count()
    # Every seat is held, or offered to the waiting list (8 applicants for at most 6 seats).
    assert holding + offered == slot.capacity_people, (holding, offered, results)
