"""What the kiosk's ticket says: the people ahead (by the call order of hallqueue.rules), the
estimated wait, and a booking for another day refused with the day and the time named."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tests.booking.conftest import make_id
from trafficdesk.booking import services as booking_services
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import rules, services
from trafficdesk.hallqueue.models import Ticket, TicketStatus
from trafficdesk.sites.models import Window, Zone

# --- estimated_wait_minutes (pure) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ahead", "minutes", "windows", "expected"),
    [
        (0, 20, 2, 0),  # nobody ahead: next
        (1, 20, 2, 10),  # 10 minutes exactly
        (3, 10, 2, 15),  # 15 exactly
        (3, 7, 2, 15),  # 10.5 -> 15: always up to the next 5 minutes
        (1, 1, 4, 5),  # a quarter of a minute is still "about 5"
        (10, 12, 3, 40),
        (7, 20, 1, 140),
    ],
)
def test_the_wait_is_people_times_minutes_over_windows_rounded_up_to_5(
    ahead: int, minutes: int, windows: int, expected: int
) -> None:
    assert rules.estimated_wait_minutes(ahead, minutes, windows) == expected


def test_no_open_window_gives_no_estimate() -> None:
    assert rules.estimated_wait_minutes(4, 10, 0) is None
    assert rules.estimated_wait_minutes(0, 10, 0) is None


# --- people_ahead ----------------------------------------------------------------------------


def _at(ticket: Ticket, moment: datetime) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(arrived_at=moment)
    ticket.refresh_from_db()
    return ticket


def _other_business(hall: Any, p01: Business) -> Business:
    """An open business of the hall other than P01, served by an open window of its own zone."""
    found = (
        Business.objects.filter(windows__service_point=hall, windows__is_open=True)
        .exclude(pk=p01.pk)
        .select_related("category")
        .distinct()
        .first()
    )
    assert found is not None
    return found


def test_people_ahead_follow_the_call_order(hall: Any, p01: Any) -> None:
    now = timezone.now()
    first = _at(services.walk_in(hall, p01), now - timedelta(minutes=3))
    second = _at(services.walk_in(hall, p01), now - timedelta(minutes=2))
    third = _at(services.walk_in(hall, p01), now - timedelta(minutes=1))
    assert [services.people_ahead(t, now) for t in (first, second, third)] == [0, 1, 2]

    # A booked, on-time ticket that arrives later is called before every walk-in of its class.
    booked = services.walk_in(hall, p01)
    Ticket.objects.filter(pk=booked.pk).update(on_time=True, arrived_at=now)
    booked.refresh_from_db()
    assert services.people_ahead(booked, now) == 0
    assert services.people_ahead(first, now) == 1
    assert services.people_ahead(third, now) == 3

    # A higher class goes first too; and a ticket already called is no longer ahead.
    urgent = _at(services.walk_in(hall, p01, "EMERGENCY"), now)
    assert services.people_ahead(urgent, now) == 0
    assert services.people_ahead(booked, now) == 1
    Ticket.objects.filter(pk=first.pk).update(status=TicketStatus.CALLED)
    assert services.people_ahead(third, now) == 3  # urgent, booked, second


def test_other_businesses_are_not_counted(hall: Any, p01: Any) -> None:
    other = _other_business(hall, p01)
    now = timezone.now()
    for minutes in (5, 4):
        _at(services.walk_in(hall, other), now - timedelta(minutes=minutes))
    mine = _at(services.walk_in(hall, p01), now)
    assert services.people_ahead(mine, now) == 0
    assert services.people_ahead(_at(services.walk_in(hall, other), now), now) == 2


def test_a_ticket_waiting_outside_has_everyone_inside_ahead(
    hall: Any, p01: Any, plate_zone: Zone
) -> None:
    now = timezone.now()
    Zone.objects.filter(pk=plate_zone.pk).update(occupancy_cap=1, present=0)
    inside = services.walk_in(hall, p01, "ESSENTIAL")
    outside = services.walk_in(hall, p01)
    later = services.walk_in(hall, p01)
    assert (inside.status, outside.status) == (TicketStatus.WAITING, TicketStatus.OUTSIDE)
    assert services.people_ahead(outside, now) == 1
    assert services.people_ahead(later, now) == 2
    assert services.people_ahead(inside, now) == 0  # those outside are not called before it


def test_the_open_windows_serving_a_ticket_are_counted(hall: Any, p01: Any) -> None:
    ticket = services.walk_in(hall, p01)
    serving = Window.objects.filter(service_point=hall, is_open=True, businesses=p01)
    assert services.windows_serving(ticket) >= 1
    assert services.windows_serving(ticket) <= serving.count()
    serving.update(is_open=False)
    services._local_windows.clear()
    assert services.windows_serving(ticket) == 0


# --- the refusal of a booking for another day ------------------------------------------------


def test_a_booking_for_another_day_is_told_the_day_and_the_time(
    hall: Any, citizen: Any, make_slot: Any
) -> None:
    slot = make_slot(people=5, hours_ahead=48)
    booking = booking_services.book(citizen, slot.pk, ["P01"], make_id(91_001))
    start = timezone.localtime(slot.starts_at)
    with translation.override("zh-hans"), pytest.raises(services.QueueRefused) as refused:
        services.check_in_booking(hall, booking.token)
    assert refused.value.code == "booking.early"
    message = refused.value.message
    assert f"{start.month}月{start.day}日" in message, message
    assert start.strftime("%H:%M") in message
    opens = timezone.localtime(start - timedelta(minutes=30)).strftime("%H:%M")
    assert opens in message and "当天" in message

    with translation.override("en"), pytest.raises(services.QueueRefused) as refused:
        services.check_in_booking(hall, booking.token)
    assert start.strftime("%B") in refused.value.message
    assert f" {start.day} " in refused.value.message or f" {start.day}," in refused.value.message


def test_a_booking_later_today_is_told_the_time_only(
    hall: Any, citizen: Any, make_slot: Any, settings: Any
) -> None:
    settings.HALL_EARLY_MINUTES = 30
    slot = make_slot(people=5, hours_ahead=48)
    booking = booking_services.book(citizen, slot.pk, ["P01"], make_id(91_002))
    start = timezone.localtime(slot.starts_at)
    an_hour_before = start - timedelta(hours=1)
    with translation.override("zh-hans"), pytest.raises(services.QueueRefused) as refused:
        services.check_in_booking(hall, booking.token, now=an_hour_before)
    message = refused.value.message
    if an_hour_before.date() == start.date():
        assert "今天" in message and "月" not in message, message
    assert start.strftime("%H:%M") in message


# --- bad input at the kiosk ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"token": "   "},
        {"token": "x" * 5000},
        {"token": "https://example.org/b/not-a-token/"},
        {"business": "NOPE"},
        {"business": "P01" * 200, "class": "ROOT"},
    ],
)
@pytest.mark.usefixtures("kiosk_device")
def test_bad_input_at_the_kiosk_is_a_plain_refusal(client: Any, hall: Any, data: Any) -> None:
    client.cookies["django_language"] = "zh-hans"
    response = client.post(reverse("hallqueue:kiosk", args=[hall.code]), data)
    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-testid="refusal"' in page and "咨询台" in page
    assert 'data-testid="ticket"' not in page


def test_an_unknown_hall_is_not_found(client: Any, demo: Any) -> None:
    assert client.get(reverse("hallqueue:kiosk", args=["NOWHERE"])).status_code == 404
