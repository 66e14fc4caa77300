"""After a risk, phase or policy change nothing is left silently invalid."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from tests.booking.conftest import PERMIT
from trafficdesk.booking import services
from trafficdesk.booking.models import Booking, BookingEvent, Slot
from trafficdesk.booking.rebooking import rebook_affected
from trafficdesk.booking.tasks import rebook_task
from trafficdesk.policy.models import DomainEvent
from trafficdesk.policy.services import set_phase
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level


def test_nothing_to_do_when_the_policy_still_allows_everything(
    citizen: Any, make_slot: Any, new_id: Any
) -> None:
    services.book(citizen, make_slot().pk, ["P01"], new_id())
    result = rebook_affected()
    assert result.checked >= 1 and result.moved == result.cancelled == 0


def test_risk_rise_moves_bookings_to_an_open_point_in_the_city(
    users: dict[str, Any], make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    closed_slot = make_slot(people=3, point="GY-HALL-01")
    target = make_slot(people=5, point="GY-BR-QZ")  # Qingzhen branch, LOW, serves P01
    holders = [make_citizen() for _ in range(3)]
    bookings = [services.book(h, closed_slot.pk, ["P01"], new_id()) for h in holders]
    set_risk_level(
        users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="聚集性疫情"
    )
    result = rebook_affected("520115")
    assert result.moved == 3 and result.cancelled == 0
    for booking in bookings:
        booking.refresh_from_db()
        assert (
            booking.status == "active"
            and booking.slot.service_point.code != "GY-HALL-01"
            and booking.moves == 1
        )
        event = BookingEvent.objects.get(booking=booking, kind="moved")
        assert event.notice is not None and "已改至" in event.notice.body
    closed_slot.refresh_from_db()
    target.refresh_from_db()
    assert closed_slot.booked_people == 0
    assert Slot.objects.filter(booked_people__gt=F("capacity_people")).count() == 0


def test_a_moved_booking_takes_the_earliest_slot_in_the_city_not_the_first_points(
    users: dict[str, Any], make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    """The first other point (by id) has a place only the day after; a later point has one
    the same day: the booking goes the same day (it went the day after when the points
    were tried one by one)."""
    from trafficdesk.sites.models import ServicePoint

    closed = make_slot(people=1, point="GY-HALL-01")
    first, later = sorted(
        ServicePoint.objects.filter(code__in=["GY-BR-HX", "GY-BR-QZ"]), key=lambda p: p.pk
    )
    next_day = make_slot(people=1, point=first.code, hours_ahead=48 + 24)
    same_day = make_slot(people=1, point=later.code)
    Slot.objects.exclude(pk__in=[closed.pk, next_day.pk, same_day.pk]).filter(
        category=closed.category
    ).update(booked_people=F("capacity_people"))
    booking = services.book(make_citizen(), closed.pk, ["P01"], new_id())
    set_risk_level(users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="x")
    assert rebook_affected("520115").moved == 1
    booking.refresh_from_db()
    assert booking.slot_id == same_day.pk, (booking.slot, same_day, next_day)


def test_bookings_without_an_equivalent_slot_are_cancelled_with_a_notice(
    users: dict[str, Any], make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot(people=2, point="GY-HALL-01")
    bookings = [services.book(make_citizen(), slot.pk, ["P01"], new_id()) for _ in range(2)]
    Slot.objects.exclude(pk=slot.pk).filter(category=slot.category).update(
        booked_people=F("capacity_people")
    )
    set_risk_level(users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="x")
    result = rebook_affected()
    assert result.cancelled == 2
    for booking in bookings:
        booking.refresh_from_db()
        assert booking.status == "cancelled" and "policy change" in booking.cancel_reason
        assert not booking.items.filter(active=True).exists()
        assert BookingEvent.objects.get(booking=booking, kind="cancelled").notice is not None


def test_rebooking_is_idempotent(
    users: dict[str, Any], make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot(people=2)
    make_slot(people=5, point="GY-BR-QZ")
    for _ in range(2):
        services.book(make_citizen(), slot.pk, ["P01"], new_id())
    set_risk_level(users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="x")
    first = rebook_affected()
    second = rebook_affected()
    assert first.moved + first.cancelled == 2
    assert second.moved == second.cancelled == 0
    assert BookingEvent.objects.filter(kind__in=["moved", "cancelled"]).count() == 2


def test_emergency_bookings_survive_a_rise_to_high(
    users: dict[str, Any], citizen: Any, make_slot: Any, new_id: Any
) -> None:
    booking = services.book(citizen, make_slot().pk, ["P01"], new_id(), "EMERGENCY", claim=PERMIT)
    set_risk_level(users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="x")
    rebook_affected()
    booking.refresh_from_db()
    assert booking.status == "active" and booking.moves == 0


def test_phase_change_triggers_the_same(
    users: dict[str, Any], make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot(people=2)
    booking = services.book(make_citizen(), slot.pk, ["P01"], new_id())
    Slot.objects.exclude(pk=slot.pk).update(booked_people=F("capacity_people"))
    set_phase(users["gz_admin"], Region.objects.get(code="520100"), 0, reason="全市暂停")
    rebook_affected()
    booking.refresh_from_db()
    assert booking.status == "cancelled"


def test_the_task_marks_its_event_handled_and_skips_it_next_time(
    users: dict[str, Any], make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slot = make_slot(people=1)
    services.book(make_citizen(), slot.pk, ["P01"], new_id())
    set_risk_level(users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="x")
    event = DomainEvent.objects.filter(kind="risk_changed").first()
    assert event is not None
    first = rebook_task.call(event.pk)
    assert first["moved"] + first["cancelled"] == 1
    event.refresh_from_db()
    assert event.handled_at is not None
    assert rebook_task.call(event.pk) == {"checked": 0, "moved": 0, "cancelled": 0}


def test_a_risk_change_enqueues_rebooking(
    users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    rebooks = DBTaskResult.objects.filter(task_path__endswith=".rebook_task")
    before = rebooks.count()
    with django_capture_on_commit_callbacks(execute=True):
        set_risk_level(users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="x")
    # one rebooking (the hall queue enqueues its own task for the tickets: hallqueue.tasks)
    assert rebooks.count() == before + 1


def test_every_booking_stays_valid_moved_or_cancelled(
    users: dict[str, Any], make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    slots = [
        make_slot(people=3),
        make_slot(people=3, point="GY-BR-HX"),
        make_slot(people=2, point="GY-BR-QZ"),
    ]
    for slot in slots:
        for _ in range(2):
            services.book(make_citizen(), slot.pk, ["P01"], new_id())
    for code in ("520115", "520111"):
        set_risk_level(users["gz_admin"], Region.objects.get(code=code), "HIGH", reason="x")
    rebook_affected()
    from trafficdesk.policy.services import decide_for

    for booking in Booking.objects.select_related("slot__service_point__region"):
        if booking.status == "active":
            for item in booking.items.select_related("business__category"):
                assert decide_for(
                    booking.slot.service_point,
                    item.business,
                    booking.applicant_class,
                    booking.slot.starts_at,
                ).open
        else:
            assert booking.status == "cancelled"
            assert BookingEvent.objects.filter(
                booking=booking, kind="cancelled", notice__isnull=False
            ).exists()


def test_a_slot_that_joined_a_rush_meanwhile_is_not_a_target(
    users: dict[str, Any], make_citizen: Any, make_slot: Any, new_id: Any, monkeypatch: Any
) -> None:
    """Candidates are read before the chunk's locks; a rush that opens on one in between
    must not receive first-come moves (the ledger would refuse, and the chunk would fail)."""
    from datetime import timedelta

    from django.utils import timezone

    from trafficdesk.booking import ledger
    from trafficdesk.booking.models import RushWindow
    from trafficdesk.catalog.models import Business

    closed = make_slot(people=2, point="GY-HALL-01", hours_ahead=24 * 40)
    target = make_slot(people=5, point="GY-BR-QZ", hours_ahead=24 * 40 + 1)
    made = [services.book(make_citizen(), closed.pk, ["P01"], new_id()) for _ in range(2)]
    set_risk_level(users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="x")
    now = timezone.now()
    draw = RushWindow.objects.create(
        service_point=target.service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now,
        closes_at=now + timedelta(hours=1),
        seed="s",
    )
    lock = ledger.lock

    def a_rush_opens_first(slot_ids: Any) -> Any:
        Slot.objects.filter(pk=target.pk).update(rush=draw)
        return lock(slot_ids)

    monkeypatch.setattr(ledger, "lock", a_rush_opens_first)
    rebook_affected("520115")
    target.refresh_from_db()
    assert target.booked_people == 0
    for booking in made:
        booking.refresh_from_db()
        assert booking.slot_id != target.pk


def test_a_booking_moved_to_another_day_is_reminded_again_one_moved_within_its_day_is_not(
    users: dict[str, Any], make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    from django.utils import timezone

    soon = make_slot(people=1, point="GY-HALL-01")  # demo slots follow on the same day
    later = make_slot(people=1, point="GY-HALL-01", hours_ahead=24 * 9)  # past the demo days
    make_slot(people=1, point="GY-HALL-01", hours_ahead=48, minutes=20)
    make_slot(people=1, point="GY-BR-QZ", hours_ahead=48)
    make_slot(people=1, point="GY-BR-QZ", hours_ahead=24 * 10)  # the only place after `later`
    bookings = [services.book(make_citizen(), s.pk, ["P01"], new_id()) for s in (soon, later)]
    Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(reminded_at=timezone.now())
    set_risk_level(
        users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="聚集性疫情"
    )
    assert rebook_affected("520115").moved == 2
    outcomes = set()
    for before in bookings:
        after = Booking.objects.select_related("slot").get(pk=before.pk)
        changed_day = timezone.localdate(after.slot.starts_at) != timezone.localdate(
            before.slot.starts_at
        )
        assert (after.reminded_at is None) == changed_day, (before.slot, after.slot)
        outcomes.add(changed_day)
    assert outcomes == {True, False}, "both a same-day and a next-day move were exercised"
