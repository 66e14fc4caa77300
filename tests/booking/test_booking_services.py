"""Booking rules against the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.booking.conftest import PERMIT, with_family
from trafficdesk.accounts import realname
from trafficdesk.booking import services
from trafficdesk.booking.models import Booking, BookingEvent, BookingItem, CapacityRelease, Slot
from trafficdesk.core import localcache
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint


def fresh(slot: Slot) -> Slot:
    slot.refresh_from_db()
    return slot


def test_book_takes_capacity_and_records_the_event(
    citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot(people=3)
    booking = services.book(citizen, slot.pk, ["P01"], new_id())
    slot = fresh(slot)
    assert (slot.booked_people, slot.booked_minutes, slot.booked_general_minutes) == (1, 20, 20)
    assert (
        booking.status == "active"
        and len(booking.token) >= 40
        and booking.id_masked.count("*") == 10
    )
    assert BookingEvent.objects.filter(booking=booking, kind="booked").exists()


def test_several_businesses_in_one_visit_take_their_minutes(
    citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot(people=3)
    booking = services.book(citizen, slot.pk, ["P01", "V01"], new_id())
    assert booking.minutes == 30 and fresh(slot).booked_minutes == 30
    assert set(booking.items.values_list("business__code", flat=True)) == {"P01", "V01"}


def test_a_slot_is_never_booked_over_its_capacity(
    make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot(people=2)
    services.book(make_citizen(), slot.pk, ["P01"], new_id())
    services.book(make_citizen(), slot.pk, ["P01"], new_id())
    with pytest.raises(services.BookingRefused) as refused:
        services.book(make_citizen(), slot.pk, ["P01"], new_id())
    assert refused.value.code == "slot.full"
    assert any(a.kind in {"slot", "service_point", "online"} for a in refused.value.alternatives)
    assert fresh(slot).booked_people == 2 and Booking.objects.filter(slot=slot).count() == 2


def test_minutes_limit_as_well_as_people(make_citizen: Any, make_slot: Any, new_id: Any) -> None:
    slot = make_slot(people=5, minutes=50)
    services.book(make_citizen(), slot.pk, ["P01", "V01"], new_id())  # 30 minutes
    with pytest.raises(services.BookingRefused, match="full"):
        services.book(make_citizen(), slot.pk, ["P01", "V01"], new_id())


def test_one_active_booking_per_id_number_per_business(
    make_person: Any, make_citizen: Any, make_slot: Any
) -> None:
    person, number = make_person()
    parent = make_citizen()  # another account that may book for the same person
    with_family(parent, 0)
    realname.declare_family_member(parent, number, "", "child")
    first = services.book(person, make_slot().pk, ["P01"], number)
    for holder in (person, parent):  # per ID number, whichever account books
        with pytest.raises(services.BookingRefused) as refused:
            services.book(holder, make_slot().pk, ["P01"], number)
        assert refused.value.code == "booking.duplicate"
    services.cancel(first.holder, first)
    assert services.book(parent, make_slot().pk, ["P01"], number).status == "active"


def test_the_database_itself_refuses_a_second_active_item(
    citizen: Any, make_slot: Any, new_id: Any
) -> None:
    from django.db import IntegrityError, transaction

    booking = services.book(citizen, make_slot().pk, ["P01"], new_id())
    item = booking.items.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingItem.objects.create(
            booking=booking, business=item.business, id_digest=item.id_digest
        )


def test_invalid_id_number_is_refused_with_the_reason(citizen: Any, make_slot: Any) -> None:
    with pytest.raises(services.BookingRefused) as refused:
        services.book(citizen, make_slot().pk, ["P01"], "520115199003011234")
    assert refused.value.code.startswith("id.")


def test_policy_refusal_says_why_and_proposes_alternatives(
    users: dict[str, Any], citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot()
    set_risk_level(
        users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="聚集性疫情"
    )
    with pytest.raises(services.BookingRefused) as refused:
        services.book(citizen, slot.pk, ["P01"], new_id())
    assert refused.value.code == "policy.closed"
    assert {r["rule"] for r in refused.value.reasons} & {"R1.HIGH.EMERGENCY_ONLY"}
    emergency = services.book(citizen, slot.pk, ["P01"], new_id(), "EMERGENCY", claim=PERMIT)
    assert emergency.status == "active"


def test_online_alternative_is_offered_for_online_businesses(
    users: dict[str, Any], citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot()
    set_risk_level(users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="x")
    with pytest.raises(services.BookingRefused) as refused:
        services.book(citizen, slot.pk, ["V01"], new_id())
    assert "online" in {a.kind for a in refused.value.alternatives}


def test_priority_hold_until_release(make_citizen: Any, make_slot: Any, new_id: Any) -> None:
    slot = make_slot(people=5, reserved=40, release_in_hours=2)  # 100 minutes, 40 held
    for _ in range(3):
        services.book(make_citizen(), slot.pk, ["P01"], new_id())
    with pytest.raises(services.BookingRefused, match="full"):
        services.book(make_citizen(), slot.pk, ["P01"], new_id())
    assert (
        services.book(make_citizen(), slot.pk, ["P01"], new_id(), "GREEN", claim=PERMIT).status
        == "active"
    )
    Slot.objects.filter(pk=slot.pk).update(
        priority_release_at=timezone.now() - timedelta(minutes=1)
    )
    # The release moved by hand (not by time passing): this process learns it when its slot
    # cache expires (LOCAL_CACHE_SECONDS); don't wait for that here.
    localcache.clear_all()
    assert services.book(make_citizen(), slot.pk, ["P01"], new_id()).status == "active"
    assert fresh(slot).booked_people == 5


def test_free_slots_hide_held_places_from_general_applicants(
    make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot(people=2, reserved=20, release_in_hours=2)
    services.book(make_citizen(), slot.pk, ["P01"], new_id())
    point = ServicePoint.objects.get(code="GY-HALL-01")
    general = {
        s.pk for s in services.free_slots(point, slot.category_id, "GENERAL", minutes=20, limit=500)
    }
    priority = {
        s.pk
        for s in services.free_slots(point, slot.category_id, "EMERGENCY", minutes=20, limit=500)
    }
    assert slot.pk not in general and slot.pk in priority


def test_past_slot_is_refused(citizen: Any, make_slot: Any, new_id: Any) -> None:
    slot = make_slot(hours_ahead=-3)
    with pytest.raises(services.BookingRefused, match="started"):
        services.book(citizen, slot.pk, ["P01"], new_id())


def test_cancel_returns_capacity_only_after_the_delay(
    citizen: Any, make_slot: Any, new_id: Any, settings: Any
) -> None:
    settings.BOOKING_RELEASE_DELAY_SECONDS = 600
    slot = make_slot(people=1)
    booking = services.book(citizen, slot.pk, ["P01"], new_id())
    services.cancel(citizen, booking)
    release = CapacityRelease.objects.get(slot=slot)
    assert timezone.now() <= release.release_at <= timezone.now() + timedelta(seconds=601)
    assert fresh(slot).booked_people == 1
    assert services.release_due_capacity(timezone.now() - timedelta(seconds=1)) == 0
    assert services.release_due_capacity(release.release_at) == 1
    assert services.release_due_capacity(release.release_at) == 0  # idempotent
    assert (fresh(slot).booked_people, fresh(slot).booked_minutes) == (0, 0)


def test_release_moments_are_random_within_the_delay(
    make_citizen: Any, make_slot: Any, new_id: Any, settings: Any
) -> None:
    settings.BOOKING_RELEASE_DELAY_SECONDS = 3600
    slot = make_slot(people=8)
    for _ in range(8):
        citizen = make_citizen()
        services.cancel(citizen, services.book(citizen, slot.pk, ["P01"], new_id()))
    moments = set(CapacityRelease.objects.filter(slot=slot).values_list("release_at", flat=True))
    assert len(moments) > 1


def test_cancel_twice_is_refused(citizen: Any, make_slot: Any, new_id: Any) -> None:
    booking = services.book(citizen, make_slot().pk, ["P01"], new_id())
    services.cancel(citizen, booking)
    with pytest.raises(services.BookingRefused, match="active"):
        services.cancel(citizen, booking)


def test_another_citizen_cannot_cancel(
    citizen: Any, make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    from django.core.exceptions import PermissionDenied

    booking = services.book(citizen, make_slot().pk, ["P01"], new_id())
    with pytest.raises(PermissionDenied):
        services.cancel(make_citizen(), booking)


def test_reschedule_moves_capacity(
    citizen: Any, make_slot: Any, new_id: Any, settings: Any
) -> None:
    settings.BOOKING_RELEASE_DELAY_SECONDS = 0
    first, second = make_slot(), make_slot()
    booking = services.book(citizen, first.pk, ["P01"], new_id())
    services.reschedule(citizen, booking, second.pk)
    assert fresh(first).booked_people == 0 and fresh(second).booked_people == 1
    assert Booking.objects.get(pk=booking.pk).slot_id == second.pk


def test_no_shows_bar_the_holder(
    users: dict[str, Any], make_person: Any, make_citizen: Any, make_slot: Any, settings: Any
) -> None:
    settings.BOOKING_NO_SHOW_LIMIT = 2
    person, number = make_person()
    parent = make_citizen()  # another account that may book for the same person
    with_family(parent, 0)
    realname.declare_family_member(parent, number, "", "child")
    for holder in (person, parent):  # the no-shows count per ID number, whoever booked
        booking = services.book(holder, make_slot().pk, ["P01"], number)
        services.mark_no_show(users["clerk"], booking)
    for holder in (person, parent):
        with pytest.raises(services.BookingRefused) as refused:
            services.book(holder, make_slot().pk, ["P01"], number)
        assert refused.value.code == "holder.barred"


def test_no_show_needs_hall_staff_of_the_region(
    users: dict[str, Any], citizen: Any, make_slot: Any, new_id: Any
) -> None:
    from django.core.exceptions import PermissionDenied

    booking = services.book(citizen, make_slot().pk, ["P01"], new_id())
    with pytest.raises(PermissionDenied):
        services.mark_no_show(citizen, booking)
    with pytest.raises(PermissionDenied):
        services.mark_no_show(users["officer"], booking)


def test_plan_slots_respects_windows_caps_and_factor() -> None:
    from datetime import date, time
    from zoneinfo import ZoneInfo

    plans = services.plan_slots(
        day=date(2026, 12, 1),
        opens_at=time(9),
        closes_at=time(12),
        slot_minutes=60,
        windows_by_category={1: 2, 2: 1},
        zone_cap_by_category={1: 5, 2: 100},
        shortest_service_by_category={1: 10, 2: 30},
        capacity_factor=0.5,
        priority_share=0.2,
        tz=ZoneInfo("Asia/Shanghai"),
    )
    assert len(plans) == 6
    first = next(p for p in plans if p.category_id == 1)
    assert (first.capacity_minutes, first.capacity_people, first.priority_reserved_minutes) == (
        60,
        5,
        12,
    )
    other = next(p for p in plans if p.category_id == 2)
    assert (other.capacity_minutes, other.capacity_people) == (30, 1)


def test_generate_slots_follows_the_policy(users: dict[str, Any]) -> None:
    point = ServicePoint.objects.get(code="GY-HALL-01")
    day = timezone.localdate() + timedelta(days=10)
    assert services.generate_slots(point, day) > 0
    low = {
        s.category_id: s.capacity_minutes
        for s in Slot.objects.filter(service_point=point, starts_at__date=day)
    }
    set_risk_level(
        users["gz_admin"], point.region, "MEDIUM", reason="x", effective_from=timezone.now()
    )
    Slot.objects.filter(service_point=point, starts_at__date=day).delete()
    services.generate_slots(point, day)
    medium = {
        s.category_id: s.capacity_minutes
        for s in Slot.objects.filter(service_point=point, starts_at__date=day)
    }
    assert all(medium[c] <= low[c] / 2 + 1 for c in medium)
