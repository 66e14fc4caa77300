"""Issue 17 item 7: nothing stranded. When a county goes HIGH, the people already checked in
at its hall for a business that is no longer offered to them there are not left in a queue
no window can call: their tickets end (a terminal status), the zone places are freed, the
screens are told, their bookings are moved to the earliest equivalent open slot or cancelled
without penalty, each holder with a mobile gets one SMS with the way forward, and the kiosk
and the booking page say so. A ticket at a window and a business still open keep going."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from tests.booking.conftest import make_id
from tests.hallqueue.conftest import paired_kiosk
from trafficdesk.accounts.models import User
from trafficdesk.booking import services as booking_services
from trafficdesk.booking.models import Booking, BookingEvent, Slot
from trafficdesk.core import live
from trafficdesk.core.models import LiveEvent
from trafficdesk.core.vocabulary import BookingStatus, TicketStatus
from trafficdesk.hallqueue import services as hall_services
from trafficdesk.hallqueue.models import Ticket
from trafficdesk.notify.models import SmsMessage
from trafficdesk.notify.services import sms_template
from trafficdesk.policy.services import decide_for
from trafficdesk.sites.models import ServicePoint, Window, Zone

COUNTY = "520115"  # the Guiyang hall's county (GY-HALL-01)

pytestmark = pytest.mark.usefixtures("kiosk_device")  # the client is the hall's kiosk


def _zh(message: Any) -> str:
    """A message as the Chinese pages and SMS show it (the catalogue's translation)."""
    with translation.override("zh-hans"):
        return str(message)


def _opening(template: Any) -> str:
    """The fixed words an SMS template starts with, in the SMS language (before the first
    placeholder)."""
    return sms_template(template).split("%(")[0]


def _slot_now(make_slot: Any, *, people: int) -> Slot:
    """A slot of the hall starting in 5 minutes: inside today's check-in window."""
    slot: Slot = make_slot(people=people)
    start = timezone.now() + timedelta(minutes=5)
    Slot.objects.filter(pk=slot.pk).update(starts_at=start, ends_at=start + timedelta(hours=1))
    slot.refresh_from_db()
    return slot


def _holder(n: int, *, mobile: bool = True) -> User:
    return User.objects.create(
        username=f"stranded-{n}", mobile=f"1365500{n:04d}" if mobile else None, role="citizen"
    )


def _kiosk(client: Client, hall: ServicePoint, **data: str) -> Any:
    client.cookies["django_language"] = "zh-hans"
    return client.post(reverse("hallqueue:kiosk", args=[hall.code]), data)


def _check_in_many(
    client: Client, hall: ServicePoint, slot: Slot, count: int, first: int
) -> list[Booking]:
    bookings = []
    for n in range(first, first + count):
        holder = _holder(n, mobile=n % 7 != 0)  # some holders gave no mobile
        booking = booking_services.book(holder, slot.pk, ["P01"], make_id(77_000 + n))
        response = _kiosk(client, hall, token=booking.number)
        assert response.status_code == 200, response.content.decode()[:500]
        bookings.append(booking)
    return bookings


def _go_high(
    client: Client, users: dict[str, Any], capture: Any, level: str = "HIGH", *, run: bool = True
) -> None:
    """The administrator sets the county's level through the API; the worker then runs what
    the change enqueued (the hall's task, as `manage.py db_worker` would)."""
    admin = Client()
    admin.force_login(users["gz_admin"])
    with capture(execute=True):
        response = admin.post(
            f"/api/v1/regions/{COUNTY}/risk",
            json.dumps({"level": level, "reason": "聚集性疫情"}),
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    if run:
        _run_hall_tasks()


def _run_hall_tasks() -> None:
    queued = DBTaskResult.objects.filter(
        task_path__endswith="end_stranded_task", status="READY"
    ).order_by("enqueued_at")
    assert queued.exists(), "the change enqueued the hall's task"
    for row in queued:
        row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
        DBTaskResult.objects.filter(pk=row.pk).update(status="SUCCESSFUL")


def _callable_now(hall: ServicePoint) -> set[int]:
    """Every waiting ticket some open window of the hall would call (call_next's own
    eligibility and order, through queue_preview)."""
    found: set[int] = set()
    for window in Window.objects.filter(service_point=hall, is_open=True):
        found |= {t.pk for t in hall_services.queue_preview(window.pk, limit=1000)}
    return found


def test_a_county_going_high_ends_the_queue_it_closed_and_keeps_the_rest(
    client: Client,
    users: dict[str, Any],
    hall: ServicePoint,
    make_slot: Any,
    window: Any,
    sms_outbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_slot(people=30, point="GY-BR-QZ")  # Qingzhen (LOW, same city): a place to go
    slot = _slot_now(make_slot, people=20)
    # One checked-in visitor is already at window 3 when the county goes HIGH.
    served_booking = _check_in_many(client, hall, slot, 1, first=1)[0]
    clerk = Client()
    clerk.force_login(users["clerk"])
    called = clerk.post(f"/api/v1/hall/windows/{window(3).pk}/call-next")
    assert called.status_code == 200
    served = Ticket.objects.get(booking=served_booking)
    assert served.status == TicketStatus.CALLED
    # Fourteen more checked in and waiting, a general walk-in, and an emergency walk-in
    # (negative control: the emergency window still serves it at HIGH).
    bookings = _check_in_many(client, hall, slot, 14, first=2)
    assert _kiosk(client, hall, business="P01", **{"class": "GENERAL"}).status_code == 200
    assert _kiosk(client, hall, business="P01", **{"class": "EMERGENCY"}).status_code == 200
    walk_in, emergency = Ticket.objects.filter(service_point=hall, booking__isnull=True).order_by(
        "id"
    )
    zone = Zone.objects.get(pk=served.zone_id)
    assert zone.present == 17
    stranded = [Ticket.objects.get(booking=b) for b in bookings] + [walk_in]
    assert {t.status for t in stranded} == {TicketStatus.WAITING}
    events_before = LiveEvent.objects.filter(
        channel=live.hall_channel(hall.pk), kind="queue"
    ).count()
    sms_before = SmsMessage.objects.count()

    _go_high(client, users, django_capture_on_commit_callbacks)

    # The stranded tickets have ended; their places are free; the screens were told.
    for ticket in stranded:
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.ENDED_BY_POLICY and ticket.completed_at is not None
    zone.refresh_from_db()
    assert zone.present == 2  # the one at the window and the emergency walk-in
    assert (
        LiveEvent.objects.filter(channel=live.hall_channel(hall.pk), kind="queue").count()
        > events_before
    )
    # The ticket at the window and the business still open are untouched.
    served.refresh_from_db()
    emergency.refresh_from_db()
    assert served.status == TicketStatus.CALLED and served.window_id == window(3).pk
    assert emergency.status == TicketStatus.WAITING
    served_booking.refresh_from_db()
    assert served_booking.status == BookingStatus.CHECKED_IN
    # No waiting ticket at the hall is for a business its windows may no longer serve.
    waiting = set(
        Ticket.objects.filter(service_point=hall, status=TicketStatus.WAITING).values_list(
            "pk", flat=True
        )
    )
    assert waiting == {emergency.pk} and waiting <= _callable_now(hall)
    # Every booking is moved to an equivalent slot open to it elsewhere in the city (the
    # earliest: booking.rebooking), never marked a no-show.
    for booking in bookings:
        booking.refresh_from_db()
        assert booking.status == BookingStatus.ACTIVE, booking.status
        assert booking.slot.service_point_id != hall.pk and booking.moves == 1
        assert booking.slot.starts_at > timezone.now()
        business = booking.items.get().business
        assert decide_for(
            booking.slot.service_point, business, "GENERAL", booking.slot.starts_at
        ).open
        assert BookingEvent.objects.filter(booking=booking, kind="moved").exists()
        assert not BookingEvent.objects.filter(booking=booking, kind="no_show").exists()
    # One SMS for each holder with a mobile, none for the others, all through the outbox.
    with_mobile = [b for b in bookings if b.holder.mobile]
    assert 0 < len(with_mobile) < len(bookings)
    new_sms = SmsMessage.objects.filter(pk__gt=0).order_by("id")[sms_before:]
    assert sorted(m.recipient for m in new_sms) == sorted(str(b.holder.mobile) for b in with_mobile)
    delivered = dict(sms_outbox)
    for booking in with_mobile:
        text = delivered[booking.holder.mobile]
        label = Ticket.objects.get(booking=booking).label
        booking.refresh_from_db()
        place = booking.slot.service_point.name_zh
        assert text.startswith(_opening(hall_services.ENDED_MOVED_SMS)), text
        assert label in text and place in text, text
    # Running the worker's task again changes nothing.
    assert hall_services.end_stranded_tickets().ended == 0


def test_the_kiosk_and_the_booking_page_give_a_clear_answer_after_the_change(
    client: Client,
    users: dict[str, Any],
    hall: ServicePoint,
    make_slot: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_slot(people=5, point="GY-BR-QZ")
    slot = _slot_now(make_slot, people=5)
    moved = _check_in_many(client, hall, slot, 1, first=40)[0]
    begun = _slot_now(make_slot, people=5)
    late = booking_services.book(_holder(41), begun.pk, ["P01"], make_id(77_041))
    started = timezone.now() - timedelta(minutes=10)  # it has begun: the holder is on the way
    Slot.objects.filter(pk=begun.pk).update(starts_at=started, ends_at=started + timedelta(hours=1))

    _go_high(client, users, django_capture_on_commit_callbacks, run=False)

    # Before the worker has run: a booking whose time has begun at the now-closed hall is
    # not checked in (its ticket would strand), and is told why and where to go instead.
    refused = _kiosk(client, hall, token=late.number)
    page = refused.content.decode()
    assert refused.status_code == 409 and 'data-code="policy.closed"' in page
    assert "高风险" in page and not Ticket.objects.filter(booking=late).exists()
    _run_hall_tasks()
    # Then the worker moves it (the holder is on the way) like the checked-in ones.
    late.refresh_from_db()
    assert late.status == BookingStatus.ACTIVE and late.slot.service_point_id != hall.pk
    assert BookingEvent.objects.filter(booking=late, kind="moved", notice__isnull=False).exists()

    # A walk-in for the closed business: refused, with why and where to go instead.
    refused = _kiosk(client, hall, business="P01", **{"class": "GENERAL"})
    page = refused.content.decode()
    assert refused.status_code == 409 and 'data-code="policy.closed"' in page
    assert "高风险" in page and "GY-BR-" not in page, page
    nearby = ServicePoint.objects.filter(code__in=["GY-BR-HX", "GY-BR-QZ"])
    assert any(p.name_zh in page for p in nearby), "the nearest open place is named"
    # The one whose ticket ended scans again: told it was moved, and where.
    moved.refresh_from_db()
    branch = moved.slot.service_point
    assert branch.pk != hall.pk
    again = _kiosk(client, hall, token=moved.number)
    page = again.content.decode()
    assert again.status_code == 409 and 'data-code="booking.elsewhere"' in page
    assert branch.name_zh in page and Ticket.objects.get(booking=moved).label in page, page
    # Their booking page shows the ended ticket in words, and the new place.
    holder = Client()
    holder.force_login(moved.holder)
    holder.cookies["django_language"] = "zh-hans"
    detail = holder.get(reverse("booking:detail", args=[moved.token])).content.decode()
    assert 'data-testid="ticket-ended"' in detail
    assert _zh(TicketStatus.ENDED_BY_POLICY.label) in detail
    # Checked in at the branch it was moved to, it gets a new ticket there.
    Slot.objects.filter(pk=moved.slot_id).update(
        starts_at=timezone.now() + timedelta(minutes=5),
        ends_at=timezone.now() + timedelta(minutes=65),
    )
    branch_kiosk = Client()
    paired_kiosk(branch_kiosk, branch)
    there = _kiosk(branch_kiosk, branch, token=moved.number)
    assert there.status_code == 200, there.content.decode()[:800]
    assert Ticket.objects.get(booking=moved).service_point_id == branch.pk


def test_without_another_slot_the_booking_is_cancelled_without_penalty(
    client: Client,
    users: dict[str, Any],
    hall: ServicePoint,
    make_slot: Any,
    sms_outbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    slot = _slot_now(make_slot, people=3)
    Slot.objects.exclude(pk=slot.pk).filter(category=slot.category).update(
        booked_people=F("capacity_people")
    )
    booking = _check_in_many(client, hall, slot, 1, first=50)[0]
    label = Ticket.objects.get(booking=booking).label

    _go_high(client, users, django_capture_on_commit_callbacks)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED  # not a no-show: no penalty
    assert not BookingEvent.objects.filter(booking=booking, kind="no_show").exists()
    assert not booking.items.filter(active=True).exists()
    text = dict(sms_outbox)[booking.holder.mobile]
    assert text.startswith(_opening(hall_services.ENDED_CANCELLED_SMS)), text
    nearby = ServicePoint.objects.filter(code__in=["GY-BR-HX", "GY-BR-QZ"])
    assert label in text and any(p.name_zh in text for p in nearby), "the way forward"
    again = _kiosk(client, hall, token=booking.number).content.decode()
    assert 'data-code="booking.not_active"' in again and label in again, again


def test_a_change_that_keeps_the_business_open_ends_nothing(
    client: Client,
    users: dict[str, Any],
    hall: ServicePoint,
    make_slot: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Negative control: at MEDIUM the hall still serves the plates business (by
    appointment); the checked-in tickets stay in the queue and stay callable."""
    slot = _slot_now(make_slot, people=5)
    bookings = _check_in_many(client, hall, slot, 3, first=60)
    _go_high(client, users, django_capture_on_commit_callbacks, level="MEDIUM")
    tickets = [Ticket.objects.get(booking=b) for b in bookings]
    assert {t.status for t in tickets} == {TicketStatus.WAITING}
    assert {t.pk for t in tickets} <= _callable_now(hall)
    assert (
        Booking.objects.filter(
            pk__in=[b.pk for b in bookings], status=BookingStatus.CHECKED_IN
        ).count()
        == 3
    )


def test_a_phase_change_strands_nobody_either(
    client: Client,
    users: dict[str, Any],
    hall: ServicePoint,
    make_slot: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Any change of the rules, not only a risk level: the city back to phase 0 (emergency
    business only) ends the general public's waiting tickets the same way."""
    from trafficdesk.policy.services import set_phase
    from trafficdesk.regions.models import Region

    slot = _slot_now(make_slot, people=5)
    booking = _check_in_many(client, hall, slot, 1, first=70)[0]
    with django_capture_on_commit_callbacks(execute=True):
        set_phase(users["gz_admin"], Region.objects.get(code="520100"), 0, reason="收紧")
    _run_hall_tasks()
    assert Ticket.objects.get(booking=booking).status == TicketStatus.ENDED_BY_POLICY


def _called_meanwhile(
    client: Client,
    users: dict[str, Any],
    hall: ServicePoint,
    make_slot: Any,
    window: Any,
    capture: Any,
    first: int,
) -> tuple[Ticket, Ticket, int]:
    """Two waiting tickets; the county goes HIGH; the worker reads both as stranded, and then
    a window whose copy of the rules is still the old one (a process's short-lived cache)
    calls the first before the worker writes. Returns both tickets and the zone's count."""
    slot = _slot_now(make_slot, people=5)
    bookings = _check_in_many(client, hall, slot, 2, first=first)
    one, two = (Ticket.objects.get(booking=b) for b in bookings)
    _go_high(client, users, capture, run=False)
    read = hall_services.stranded_tickets(None, timezone.now())
    assert set(read[hall.pk]) >= {one.pk, two.pk}
    Ticket.objects.filter(pk=one.pk, status=TicketStatus.WAITING).update(
        status=TicketStatus.CALLED, window=window(3), called_at=timezone.now()
    )
    present = Zone.objects.get(pk=one.zone_id).present
    return one, two, present


def test_race_a_ticket_called_while_the_worker_ends_the_queue_is_not_ended(
    client: Client,
    users: dict[str, Any],
    hall: ServicePoint,
    make_slot: Any,
    window: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The race: the worker's read of the stranded tickets, then a window's call, then the
    worker's write. The write is conditional (still queued, under the rows' locks), so the
    ticket now at the window keeps being served and keeps its zone place."""
    one, two, present = _called_meanwhile(
        client, users, hall, make_slot, window, django_capture_on_commit_callbacks, 80
    )
    stale = hall_services.stranded_tickets(None, timezone.now())
    stale[hall.pk] = sorted({*stale.get(hall.pk, []), one.pk, two.pk})
    monkeypatch.setattr(hall_services, "stranded_tickets", lambda region, now: stale)
    hall_services.end_stranded_tickets()
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.status == TicketStatus.CALLED and two.status == TicketStatus.ENDED_BY_POLICY
    assert Zone.objects.get(pk=one.zone_id).present == present - 1


def test_negative_control_without_the_queued_condition_the_called_ticket_is_ended(
    client: Client,
    users: dict[str, Any],
    hall: ServicePoint,
    make_slot: Any,
    window: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The same race with the guard taken away (any status may be ended): the ticket being
    served at the window is cut off, the damage the condition prevents."""
    one, two, _present = _called_meanwhile(
        client, users, hall, make_slot, window, django_capture_on_commit_callbacks, 90
    )
    stale = {hall.pk: [one.pk, two.pk]}
    monkeypatch.setattr(hall_services, "stranded_tickets", lambda region, now: stale)
    monkeypatch.setattr(
        hall_services, "QUEUED", (TicketStatus.WAITING, TicketStatus.OUTSIDE, TicketStatus.CALLED)
    )
    hall_services.end_stranded_tickets()
    one.refresh_from_db()
    assert one.status == TicketStatus.ENDED_BY_POLICY
