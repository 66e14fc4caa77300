"""A booking's life after it is made: served, missed at the window, or past its time, it
stops holding its ID number, so the same person can book the same business again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.booking.conftest import make_id
from trafficdesk.booking import rush, services
from trafficdesk.booking.models import BookingEvent, RushWindow, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import services as hall
from trafficdesk.sites.models import ServicePoint, Window


def _due_now(make_slot: Any) -> Slot:
    slot = make_slot(people=5)
    start = timezone.now() + timedelta(minutes=10)
    Slot.objects.filter(pk=slot.pk).update(starts_at=start, ends_at=start + timedelta(hours=1))
    slot.refresh_from_db()
    return slot


def _called(users: dict[str, Any], token: str) -> Any:
    point = ServicePoint.objects.select_related("region").get(code="GY-HALL-01")
    ticket = hall.check_in_booking(point, token)
    window = (
        Window.objects.select_related("service_point__region")
        .prefetch_related("businesses")
        .get(service_point=point, number=3)
    )
    called = hall.call_next(users["clerk"], window)
    assert called is not None and called.pk == ticket.pk
    return called


@pytest.mark.parametrize("ending", ["complete", "skip"])
def test_a_finished_visit_frees_the_id_number_for_the_same_business(
    users: dict[str, Any], citizen: Any, make_slot: Any, ending: str
) -> None:
    number = make_id(95_000)
    first = services.book(citizen, _due_now(make_slot).pk, ["P01"], number)
    ticket = _called(users, first.token)
    getattr(hall, ending)(users["clerk"], ticket)
    first.refresh_from_db()
    assert first.status == ("done" if ending == "complete" else "no_show")
    assert not first.items.filter(active=True).exists()
    if ending == "skip":
        assert BookingEvent.objects.filter(booking=first, kind="no_show").exists()
    again = services.book(citizen, make_slot().pk, ["P01"], number)
    assert again.status == "active"


def test_a_booking_whose_time_passed_unused_does_not_block_the_next(
    citizen: Any, make_slot: Any
) -> None:
    number = make_id(95_100)
    old = services.book(citizen, make_slot().pk, ["P01"], number)
    past = timezone.now() - timedelta(hours=3)
    Slot.objects.filter(pk=old.slot_id).update(starts_at=past, ends_at=past + timedelta(hours=1))
    new = services.book(citizen, make_slot().pk, ["P01"], number)
    old.refresh_from_db()
    assert old.status == "expired" and new.status == "active"
    with pytest.raises(services.BookingRefused) as refused:
        services.book(citizen, make_slot().pk, ["P01"], number)
    assert refused.value.code == "booking.duplicate", "a current booking still blocks"


def test_an_application_after_the_draw_is_refused_even_with_a_stale_window(
    users: dict[str, Any], make_slot: Any, make_citizen: Any
) -> None:
    slot = make_slot(people=3)
    now = timezone.now()
    window = rush.open_rush(
        users["gz_admin"],
        service_point=slot.service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        slots=[slot],
    )
    rush.apply(make_citizen(), window, make_id(95_200))
    stale = RushWindow.objects.get(pk=window.pk)
    rush.allocate_rush(window.pk, now=window.closes_at)
    with pytest.raises(services.BookingRefused) as refused:
        rush.apply(make_citizen(), stale, make_id(95_201))
    assert refused.value.code == "rush.closed"
    window.refresh_from_db()
    assert rush.verify(window), "the published draw still verifies"
