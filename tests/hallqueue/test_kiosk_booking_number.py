"""The hall kiosk checks a booking in by its booking number, typed as read aloud, as well as
by the QR code; the ticket shows the number large; a wrong number is a clear refusal that
keeps what was typed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.booking.conftest import make_id
from trafficdesk.booking import services as booking_services
from trafficdesk.booking.models import Slot
from trafficdesk.core.vocabulary import BookingStatus
from trafficdesk.hallqueue.models import Ticket

pytestmark = pytest.mark.usefixtures("kiosk_device")


def _soon_slot(make_slot: Any) -> Slot:
    """A slot of the hall starting in a few minutes: inside the check-in window."""
    slot: Slot = make_slot(people=5)
    start = timezone.now() + timedelta(minutes=5)
    Slot.objects.filter(pk=slot.pk).update(starts_at=start, ends_at=start + timedelta(hours=1))
    slot.refresh_from_db()
    return slot


def _check_in(client: Client, hall: Any, code: str) -> Any:
    client.cookies["django_language"] = "zh-hans"
    return client.post(reverse("hallqueue:kiosk", args=[hall.code]), {"token": code})


def test_the_kiosk_checks_in_by_the_booking_number_and_shows_it(
    client: Client, hall: Any, citizen: Any, make_slot: Any
) -> None:
    booking = booking_services.book(citizen, _soon_slot(make_slot).pk, ["P01"], make_id(88_001))
    typed = f"{booking.number[:4].lower()} {booking.number[4:].lower()}"
    response = _check_in(client, hall, typed)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="ticket-booking-number"' in page and booking.spaced_number in page
    ticket = Ticket.objects.get(booking=booking)
    assert ticket.label in page
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN


def test_the_qr_token_still_checks_in(
    client: Client, hall: Any, citizen: Any, make_slot: Any
) -> None:
    booking = booking_services.book(citizen, _soon_slot(make_slot).pk, ["P01"], make_id(88_002))
    link = f"http://testserver{reverse('booking:detail', args=[booking.token])}"
    assert _check_in(client, hall, link).status_code == 200
    assert Ticket.objects.filter(booking=booking).exists()


def test_a_wrong_number_is_refused_plainly_and_kept_in_the_field(client: Client, hall: Any) -> None:
    response = _check_in(client, hall, "ZZZZ ZZZ2")
    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-code="booking.unknown"' in page
    assert "没有找到这个预约号" in page
    assert 'value="ZZZZ ZZZ2"' in page


def test_a_number_checks_in_once(client: Client, hall: Any, citizen: Any, make_slot: Any) -> None:
    booking = booking_services.book(citizen, _soon_slot(make_slot).pk, ["P01"], make_id(88_003))
    assert _check_in(client, hall, booking.number).status_code == 200
    again = _check_in(client, hall, booking.number)
    assert again.status_code == 409
    assert 'data-code="booking.not_active"' in again.content.decode()
    assert Ticket.objects.filter(booking=booking).count() == 1
