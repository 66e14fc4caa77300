"""The pages after a booking: its page (number beside the QR, materials, check-in time,
calendar link), the .ics file (holder only, a correct VEVENT), reschedule and cancel with a
confirmation step, "my bookings" as cards; bad input is a 4xx, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.booking.conftest import with_family
from trafficdesk.booking import ics, services
from trafficdesk.booking.models import Booking, CapacityRelease
from trafficdesk.catalog.models import Business
from trafficdesk.core.vocabulary import BookingStatus


@pytest.fixture
def zh_client(client: Client) -> Client:
    client.cookies["django_language"] = "zh-hans"
    return client


def _page(response: Any) -> str:
    return response.content.decode()


def test_the_booking_page_shows_number_materials_check_in_and_calendar_link(
    zh_client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    zh_client.force_login(citizen)
    slot = make_slot()
    booking = services.book(citizen, slot.pk, ["P01"], new_id())
    page = _page(zh_client.get(reverse("booking:detail", args=[booking.token])))
    assert booking.spaced_number in page
    opens = timezone.localtime(slot.starts_at) - timedelta(minutes=settings.HALL_EARLY_MINUTES)
    assert f"开始签到时间：{opens:%H:%M}" in page
    for item in Business.objects.get(code="P01").materials_zh.splitlines():
        assert item in page
    assert reverse("booking:ics", args=[booking.token]) in page
    assert reverse("booking:reschedule", args=[booking.token]) in page
    assert reverse("booking:cancel", args=[booking.token]) in page


def test_the_calendar_file_is_a_correct_event_for_the_holder_only(
    client: Client, citizen: Any, make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    slot = make_slot()
    booking = services.book(citizen, slot.pk, ["P01"], new_id())
    response = client.get(reverse("booking:ics", args=[booking.token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert booking.number in response["Content-Disposition"]
    raw = response.content.decode()
    assert raw.endswith("\r\n") and "\n" not in raw.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in raw.split("\r\n"))
    fields = unfolded(raw)
    starts = timezone.localtime(slot.starts_at)
    assert fields["DTSTART;TZID=Asia/Shanghai"] == f"{starts:%Y%m%dT%H%M%S}"
    ends = timezone.localtime(slot.ends_at)
    assert fields["DTEND;TZID=Asia/Shanghai"] == f"{ends:%Y%m%dT%H%M%S}"
    assert fields["TZID"] == "Asia/Shanghai" and fields["TZOFFSETTO"] == "+0800"
    assert booking.spaced_number in fields["SUMMARY"]
    assert "新车注册登记并核发号牌" in fields["SUMMARY"]
    assert slot.service_point.name_zh in fields["LOCATION"]
    assert fields["UID"] == f"booking-{booking.number}@trafficdesk"
    assert raw.count("BEGIN:VEVENT") == 1 and raw.count("END:VEVENT") == 1

    stranger = make_citizen()
    client.force_login(stranger)
    assert client.get(reverse("booking:ics", args=[booking.token])).status_code in (403, 404)


def unfolded(raw: str) -> dict[str, str]:
    """NAME[;PARAMS] -> value of an iCalendar text, folded lines joined (first one wins)."""
    fields: dict[str, str] = {}
    for line in raw.replace("\r\n ", "").split("\r\n"):
        if ":" in line:
            name, value = line.split(":", 1)
            fields.setdefault(name, value)
    return fields


def test_calendar_text_is_escaped_and_folded_on_characters() -> None:
    assert ics.escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    long = "SUMMARY:" + "预约" * 40
    folded = ics.fold(long)
    pieces = folded.split("\r\n ")
    assert "".join(pieces) == long
    assert all(len(p.encode()) <= 75 for p in pieces)


def test_cancel_asks_first_then_says_when_the_place_returns(
    zh_client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    zh_client.force_login(citizen)
    booking = services.book(citizen, make_slot().pk, ["P01"], new_id())
    path = reverse("booking:cancel", args=[booking.token])
    ask = zh_client.get(path)
    assert ask.status_code == 200
    assert "这个名额将让给其他人" in _page(ask)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE

    done = zh_client.post(path, follow=True)
    assert done.redirect_chain[-1][0] == reverse("booking:detail", args=[booking.token])
    page = _page(done)
    minutes = -(-settings.BOOKING_RELEASE_DELAY_SECONDS // 60)
    assert f"{minutes} 分钟内的随机时刻重新开放" in page
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    assert CapacityRelease.objects.filter(slot=booking.slot).count() == 1

    again = zh_client.get(path)
    assert again.status_code == 409 and "已不能更改" in _page(again)


def test_reschedule_lists_free_times_then_confirms_then_moves(
    zh_client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    zh_client.force_login(citizen)
    first = make_slot()
    second = make_slot(hours_ahead=72)
    booking = services.book(citizen, first.pk, ["P01"], new_id())
    path = reverse("booking:reschedule", args=[booking.token])
    listing = _page(zh_client.get(path))
    offered = {int(n) for n in re.findall(r'data-slot="(\d+)"', listing)}
    assert second.pk in offered and first.pk not in offered
    assert offered == {s.pk for s in services.reschedule_options(booking)}

    confirm = zh_client.get(f"{path}?slot={second.pk}")
    assert confirm.status_code == 200 and 'data-testid="reschedule-confirm"' in _page(confirm)
    assert Booking.objects.get(pk=booking.pk).slot_id == first.pk, "a GET moves nothing"

    moved = zh_client.post(path, {"slot": second.pk})
    assert moved.status_code == 302
    after = Booking.objects.get(pk=booking.pk)
    assert after.slot_id == second.pk and after.number == booking.number


@pytest.mark.parametrize("slot", ["abc", "999999999", "-1"])
def test_reschedule_to_a_bad_or_unknown_slot_is_a_clear_refusal(
    zh_client: Client, citizen: Any, make_slot: Any, new_id: Any, slot: str
) -> None:
    zh_client.force_login(citizen)
    booking = services.book(citizen, make_slot().pk, ["P01"], new_id())
    path = reverse("booking:reschedule", args=[booking.token])
    for response in (zh_client.get(f"{path}?slot={slot}"), zh_client.post(path, {"slot": slot})):
        assert 200 <= response.status_code < 500
        if slot.isdigit():
            assert response.status_code == 409
            assert 'data-testid="refusal"' in _page(response)
    assert Booking.objects.get(pk=booking.pk).slot_id == booking.slot_id


def test_someone_else_cannot_open_the_change_pages(
    client: Client, citizen: Any, make_citizen: Any, make_slot: Any, new_id: Any
) -> None:
    booking = services.book(citizen, make_slot().pk, ["P01"], new_id())
    client.force_login(make_citizen())
    for name in ("booking:cancel", "booking:reschedule", "booking:detail"):
        assert client.get(reverse(name, args=[booking.token])).status_code in (403, 404)
    assert client.post(reverse("booking:cancel", args=[booking.token])).status_code in (403, 404)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ACTIVE


def test_my_bookings_are_cards_with_past_and_cancelled_folded_away(
    zh_client: Client, citizen: Any, make_slot: Any
) -> None:
    zh_client.force_login(citizen)
    own, child = with_family(citizen, 1)  # the account's own booking and its child's
    coming = services.book(citizen, make_slot().pk, ["P01"], own)
    gone = services.book(citizen, make_slot().pk, ["P01"], child)
    services.cancel(citizen, gone)
    page = _page(zh_client.get(reverse("booking:mine")))
    assert "<table" not in page
    head, _sep, folded = page.partition('data-testid="past-bookings"')
    assert f'data-number="{coming.number}"' in head
    assert f'data-number="{gone.number}"' in folded
    assert "<details" in page and "<details open" not in page
    assert reverse("booking:reschedule", args=[coming.token]) in head
    assert reverse("booking:reschedule", args=[gone.token]) not in page
    assert coming.spaced_number in head and "新车注册登记并核发号牌" in head


def test_the_api_offers_the_same_times_to_move_to_as_the_page(
    client: Client, citizen: Any, make_slot: Any, new_id: Any
) -> None:
    client.force_login(citizen)
    first, later = make_slot(), make_slot(hours_ahead=72)
    booking = services.book(citizen, first.pk, ["P01"], new_id())
    offered = client.get(f"/api/v1/bookings/{booking.token}/reschedule")
    assert offered.status_code == 200
    ids = [s["id"] for s in offered.json()]
    assert ids == [s.pk for s in services.reschedule_options(booking)]
    assert later.pk in ids and first.pk not in ids
    moved = client.post(
        f"/api/v1/bookings/{booking.token}/reschedule",
        {"slot": later.pk},
        content_type="application/json",
    )
    assert moved.status_code == 200 and moved.json()["number"] == booking.number
