"""Booking numbers (预约号): short, readable, unique; found again however they are typed; in
the API; redrawn on a clash; unique across a draw's many winners."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import IntegrityError
from django.test import Client

from trafficdesk.booking import numbers, services
from trafficdesk.booking.models import Booking

SHAPE = re.compile(r"^[2-9A-HJKMNP-Z]{8}$")


def test_a_number_is_eight_unambiguous_characters() -> None:
    drawn = {numbers.new_number() for _ in range(2000)}
    assert len(drawn) == 2000
    for number in drawn:
        assert SHAPE.match(number), number
        assert not set(number) & set("01OIL")


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("7kq4 m2xp", "7KQ4M2XP"),
        (" 7KQ4-M2XP ", "7KQ4M2XP"),
        ("7KQ4M2XP", "7KQ4M2XP"),
        ("7KQ4M2X", None),  # too short
        ("7KQ4M2XO", None),  # O is never used
        ("", None),
    ],
)
def test_a_number_is_read_however_it_is_typed(typed: str, found: str | None) -> None:
    assert numbers.normalise(typed) == found


def test_every_booking_gets_its_own_number_shown_in_two_groups(
    make_person: Any, make_slot: Any
) -> None:
    slot = make_slot(people=5)
    people = [make_person() for _ in range(3)]
    made = [services.book(holder, slot.pk, ["P01"], number) for holder, number in people]
    stored = [Booking.objects.get(pk=b.pk) for b in made]
    assert len({b.number for b in stored}) == 3
    for booking in stored:
        assert SHAPE.match(booking.number)
        assert booking.spaced_number == f"{booking.number[:4]} {booking.number[4:]}"


def test_the_database_refuses_a_second_booking_with_the_same_number(
    citizen: Any, make_slot: Any, new_id: Any
) -> None:
    first = services.book(citizen, make_slot().pk, ["P01"], new_id())
    with pytest.raises(IntegrityError) as raised:
        Booking.objects.create(
            token="x" * 43,
            holder=citizen,
            slot=first.slot,
            id_digest="d" * 64,
            id_masked="5201**********0000",
            minutes=20,
            number=first.number,
        )
    assert numbers.is_clash(raised.value)


def test_a_clashing_number_is_drawn_again(
    make_person: Any, make_slot: Any, monkeypatch: Any
) -> None:
    """The first number drawn for the new booking is already taken: it books anyway, with
    another number, and takes its place once."""
    slot = make_slot(people=5)
    (someone, their_id), (another, other_id) = make_person(), make_person()
    first = services.book(someone, slot.pk, ["P01"], their_id)
    drawn = iter([first.number, "23456789"])
    monkeypatch.setattr(numbers, "new_number", lambda: next(drawn))
    second = services.book(another, slot.pk, ["P01"], other_id)
    assert Booking.objects.get(pk=second.pk).number == "23456789"
    slot.refresh_from_db()
    assert slot.booked_people == 2


def test_a_number_is_found_typed_as_read_or_by_the_qr_link(
    citizen: Any, make_slot: Any, new_id: Any
) -> None:
    booking = services.book(citizen, make_slot().pk, ["P01"], new_id())
    spoken = f"{booking.number[:4].lower()} {booking.number[4:].lower()}"
    assert services.booking_for_code(spoken) == booking
    assert services.booking_for_code(booking.token) == booking
    assert services.booking_for_code(f"http://x/booking/b/{booking.token}/") == booking
    assert services.booking_for_code("ZZZZ ZZZZ") is None
    assert services.booking_for_code("") is None


def test_many_bookings_written_at_once_get_distinct_unused_numbers(
    citizen: Any, make_slot: Any, new_id: Any, monkeypatch: Any
) -> None:
    stored = services.book(citizen, make_slot().pk, ["P01"], new_id())
    pending = [Booking(number=n) for n in (stored.number, "AAAA2222", "AAAA2222")]
    numbers.unused(pending)
    given = [b.number for b in pending]
    assert len(set(given)) == 3 and stored.number not in given
    assert "AAAA2222" in given


def test_the_api_gives_the_booking_number(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    slot = make_slot()
    made = client.post(
        "/api/v1/bookings",
        {"slot": slot.pk, "businesses": ["P01"], "id_number": new_id()},
        content_type="application/json",
    )
    assert made.status_code == 201
    number = made.json()["number"]
    assert SHAPE.match(number)
    assert Booking.objects.get(token=made.json()["token"]).number == number
    shown = client.get(f"/api/v1/bookings/{made.json()['token']}").json()
    assert shown["number"] == number
    assert [b["number"] for b in client.get("/api/v1/bookings").json()] == [number]


def test_the_booked_sms_carries_the_number_and_the_check_in_time(
    citizen: Any, make_slot: Any, new_id: Any, sms_outbox: Any, settings: Any
) -> None:
    from django.utils import timezone

    slot = make_slot()
    booking = services.book(citizen, slot.pk, ["P01"], new_id())
    texts = [text for phone, text in sms_outbox if phone == citizen.mobile]
    assert len(texts) == 1
    assert booking.spaced_number in texts[0]
    opens = timezone.localtime(slot.starts_at) - timezone.timedelta(
        minutes=settings.HALL_EARLY_MINUTES
    )
    assert f"{opens:%H:%M} 开始签到" in texts[0]
    assert "预约号" in texts[0], "the SMS is in the site's language, Chinese"


def test_staff_find_a_booking_in_the_admin_by_the_number_as_read_out(
    citizen: Any, make_person: Any, make_slot: Any, new_id: Any, users: dict[str, Any]
) -> None:
    mine = services.book(citizen, make_slot(people=5).pk, ["P01"], new_id())
    someone_else, their_id = make_person()
    other = services.book(someone_else, make_slot(people=5).pk, ["P01"], their_id)
    number = Booking.objects.get(pk=mine.pk).number
    staff = Client()
    staff.force_login(users["admin"])  # booking records are the superuser's (access.RULES)
    typed = f"{number[:4].lower()} {number[4:].lower()}"  # "7kq4 m2xp", as heard
    page = staff.get("/admin/booking/booking/", {"q": typed})
    assert page.status_code == 200
    listed = {b.pk for b in page.context["cl"].result_list}
    assert listed == {mine.pk} and other.pk not in listed
