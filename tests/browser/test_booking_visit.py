"""After booking, on a 390×844 phone in zh-Hans (and in English where the words differ): the
booking page shows the booking number beside the QR code, the materials to bring, when
check-in opens and a calendar file that parses; 改约 and cancel go through a confirmation
step; "my bookings" are cards with the past folded away; the kiosk checks in by the number.

Demo facts only: GY-HALL-01 (观山湖区, LOW) serves P01 (new-car plates) with slots for the
next days."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.browser.helpers import pair_kiosk, wait_for_server_requests
from tests.realname import may_book_for
from trafficdesk.accounts.models import User
from trafficdesk.booking import services as booking
from trafficdesk.booking.models import Booking, BookingStatus, CapacityRelease, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import id_check_char
from trafficdesk.demo.services import DEMO_CITIZEN_MOBILE
from trafficdesk.hallqueue.models import Ticket
from trafficdesk.sites.models import ServicePoint

pytestmark = pytest.mark.browser

Outbox = Any
HALL = "GY-HALL-01"
NEW_CAR_PLATES = "P01"
GENERAL = "GENERAL"
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
PHONE_WIDTH = 390


def resident_id(serial: str) -> str:
    first17 = f"52011519900307{serial}"
    return first17 + id_check_char(first17)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def hhmm(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def login(page: Any, sms_outbox: Outbox) -> User:
    """The demo citizen logs in with the code sent by SMS."""
    page.goto(reverse("accounts:citizen-login"))
    page.locator("#id_mobile").fill(DEMO_CITIZEN_MOBILE)
    with page.expect_navigation():
        page.locator("form:has(#id_mobile) button[type=submit]").click()
    page.locator("#id_code").wait_for()
    sent = [text for number, text in sms_outbox if number == DEMO_CITIZEN_MOBILE]
    match = CODE_RE.search(sent[-1])
    assert match, sent
    page.locator("#id_code").fill(match.group(1))
    with page.expect_navigation():
        page.locator("form:has(#id_code) button[type=submit]").click()
    return User.objects.get(mobile=DEMO_CITIZEN_MOBILE)


def hall_slots(count: int) -> list[Slot]:
    point = ServicePoint.objects.get(code=HALL)
    business = Business.objects.get(code=NEW_CAR_PLATES)
    found = booking.free_slots(
        point, business.category_id, GENERAL, minutes=business.service_minutes, limit=20
    )
    assert len(found) >= count, "the demo hall needs free slots"
    return found


def book(citizen: User, slot: Slot, serial: str) -> Booking:
    """A booking by the demo citizen for the person `serial` (bound, or a family member)."""
    number = may_book_for(citizen, resident_id(serial))
    return booking.book(citizen, slot.pk, [NEW_CAR_PLATES], number, GENERAL)


def assert_no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width}px wide"


def unfold(raw: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in raw.replace("\r\n ", "").split("\r\n"):
        if ":" in line:
            name, value = line.split(":", 1)
            fields.setdefault(name, value)
    return fields


def test_the_booking_page_has_number_materials_check_in_and_calendar(
    phone: Any, demo: Any, sms_outbox: Outbox, tmp_path: Path
) -> None:
    page = phone
    citizen = login(page, sms_outbox)
    slot = hall_slots(1)[0]
    made = book(citizen, slot, "101")

    page.goto(reverse("booking:detail", args=[made.token]))
    assert page.get_by_test_id("qr").locator("svg").count() == 1
    number = page.get_by_test_id("pass-number")
    assert number.inner_text().strip() == made.spaced_number
    qr_box = page.get_by_test_id("qr").bounding_box()
    number_box = number.bounding_box()
    assert qr_box and number_box and number_box["height"] > 0
    assert number_box["y"] < qr_box["y"] + qr_box["height"] + 200, "beside (or just below) the QR"

    opens = timezone.localtime(slot.starts_at) - timedelta(minutes=settings.HALL_EARLY_MINUTES)
    assert page.get_by_test_id("check-in").inner_text().strip() == f"开始签到时间：{opens:%H:%M}"
    materials = page.get_by_test_id("materials").locator("li").all_inner_texts()
    assert materials == Business.objects.get(code=NEW_CAR_PLATES).materials_zh.splitlines()
    assert "身份证明" in materials[0]
    assert page.get_by_test_id("number").inner_text().strip() == made.spaced_number
    assert_no_sideways_scroll(page)

    # The calendar file downloads and is a correct event.
    link = page.get_by_test_id("ics")
    assert link.inner_text().strip() == zh("Add to my calendar")
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "booking.ics"
    download.value.save_as(saved)
    raw = saved.read_bytes().decode()
    assert raw.startswith("BEGIN:VCALENDAR\r\n") and raw.endswith("END:VCALENDAR\r\n")
    fields = unfold(raw)
    assert fields["DTSTART;TZID=Asia/Shanghai"] == (
        timezone.localtime(slot.starts_at).strftime("%Y%m%dT%H%M%S")
    )
    assert made.spaced_number in fields["SUMMARY"]
    assert "新车注册登记并核发号牌" in fields["SUMMARY"]
    assert slot.service_point.name_zh in fields["LOCATION"]
    assert f"{opens:%H:%M}" in fields["DESCRIPTION"]

    # The SMS confirmation gives the same number.
    texts = [t for n, t in sms_outbox if n == DEMO_CITIZEN_MOBILE and made.spaced_number in t]
    assert len(texts) == 1


def test_the_booking_page_in_english(phone: Any, demo: Any, sms_outbox: Outbox) -> None:
    page = phone
    citizen = login(page, sms_outbox)
    slot = hall_slots(1)[0]
    made = book(citizen, slot, "102")
    site = urlsplit(page.url)
    page.context.add_cookies(
        [
            {
                "name": settings.LANGUAGE_COOKIE_NAME,
                "value": "en",
                "url": f"{site.scheme}://{site.netloc}/",
            }
        ]
    )
    page.goto(reverse("booking:detail", args=[made.token]))
    opens = timezone.localtime(slot.starts_at) - timedelta(minutes=settings.HALL_EARLY_MINUTES)
    assert page.get_by_test_id("check-in").inner_text().strip() == (
        f"Check-in opens at {opens:%H:%M}"
    )
    materials = page.get_by_test_id("materials").locator("li").all_inner_texts()
    assert materials == Business.objects.get(code=NEW_CAR_PLATES).materials_en.splitlines()
    assert page.get_by_test_id("reschedule").inner_text().strip() == "Change the time"
    assert_no_sideways_scroll(page)
    page.goto(reverse("booking:reschedule", args=[made.token]))
    assert_no_sideways_scroll(page)
    page.goto(reverse("booking:cancel", args=[made.token]))
    assert "freed for other people" in page.get_by_test_id("freed-warning").inner_text()
    assert_no_sideways_scroll(page)
    page.goto(reverse("booking:mine"))
    assert_no_sideways_scroll(page)


def test_reschedule_through_the_pages_with_a_confirmation(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    page = phone
    citizen = login(page, sms_outbox)
    first = hall_slots(2)[0]
    made = book(citizen, first, "103")

    page.goto(reverse("booking:detail", args=[made.token]))
    with page.expect_navigation():
        page.get_by_test_id("reschedule").click()
    assert urlsplit(page.url).path == reverse("booking:reschedule", args=[made.token])
    assert_no_sideways_scroll(page)
    choices = page.get_by_test_id("new-slot")
    offered = [int(choices.nth(i).get_attribute("data-slot")) for i in range(choices.count())]
    assert offered == [s.pk for s in booking.reschedule_options(made)]
    assert first.pk not in offered and offered
    target = Slot.objects.get(pk=offered[-1])  # a later day, if there is one

    with page.expect_navigation():
        choices.nth(len(offered) - 1).click()
    confirm = page.get_by_test_id("reschedule-confirm")
    assert zh("Move the booking to this time?") in confirm.inner_text()
    new_when = timezone.localtime(target.starts_at).strftime("%Y-%m-%d %H:%M")
    assert page.get_by_test_id("new-when").inner_text().startswith(new_when)
    assert Booking.objects.get(pk=made.pk).slot_id == first.pk, "nothing moves before confirming"
    assert_no_sideways_scroll(page)

    with page.expect_navigation():
        page.get_by_test_id("confirm-reschedule").click()
    assert urlsplit(page.url).path == reverse("booking:detail", args=[made.token])
    assert zh("The booking is moved. Its booking number stays the same.") in (
        page.locator("ul.messages").inner_text()
    )
    assert page.get_by_test_id("when").inner_text().startswith(new_when)
    assert page.get_by_test_id("pass-number").inner_text().strip() == made.spaced_number
    moved = Booking.objects.get(pk=made.pk)
    assert moved.slot_id == target.pk and moved.status == BookingStatus.ACTIVE
    told = [t for n, t in sms_outbox if n == DEMO_CITIZEN_MOBILE and "已改至" in t]
    assert len(told) == 1 and hhmm(target.starts_at) in told[0]


def test_cancel_through_the_pages_with_a_confirmation(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    page = phone
    citizen = login(page, sms_outbox)
    slot = hall_slots(1)[0]
    made = book(citizen, slot, "104")

    page.goto(reverse("booking:detail", args=[made.token]))
    with page.expect_navigation():
        page.get_by_test_id("cancel").click()
    warning = page.get_by_test_id("freed-warning").inner_text()
    assert warning == zh(
        "If you cancel, this place is freed for other people and you lose it; to come on "
        "another day, change the time instead."
    )
    assert Booking.objects.get(pk=made.pk).status == BookingStatus.ACTIVE
    assert_no_sideways_scroll(page)

    with page.expect_navigation():
        page.get_by_test_id("confirm-cancel").click()
    assert urlsplit(page.url).path == reverse("booking:detail", args=[made.token])
    assert page.get_by_test_id("booking").get_attribute("data-status") == BookingStatus.CANCELLED
    freed = page.get_by_test_id("freed").inner_text()
    minutes = -(-settings.BOOKING_RELEASE_DELAY_SECONDS // 60)
    assert f"{minutes} 分钟内的随机时刻重新开放给所有人预约" in freed
    assert page.get_by_test_id("qr").count() == 0
    assert page.get_by_test_id("cancel").count() == 0
    assert Booking.objects.get(pk=made.pk).status == BookingStatus.CANCELLED
    assert CapacityRelease.objects.filter(slot=slot).count() == 1


def test_my_bookings_are_cards_with_the_past_folded_away(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    page = phone
    citizen = login(page, sms_outbox)
    first, second = hall_slots(2)[:2]
    coming = book(citizen, first, "105")
    gone = booking.cancel(citizen, book(citizen, second, "106"))

    page.goto(reverse("booking:mine"))
    assert page.locator("main table").count() == 0
    cards = page.get_by_test_id("my-bookings").get_by_test_id("booking-card")
    assert cards.count() == 1
    card = cards.first
    assert card.get_attribute("data-number") == coming.number
    text = card.inner_text()
    with translation.override("zh-hans"):
        label, point_name = str(BookingStatus.ACTIVE.label), first.service_point.name
    for shown in (label, point_name, "新车注册登记并核发号牌", coming.spaced_number):
        assert shown in text, (shown, text)
    assert timezone.localtime(first.starts_at).strftime("%Y-%m-%d %H:%M") in text
    assert NEW_CAR_PLATES not in text, "no business code is shown"
    for test_id in ("card-open", "card-reschedule", "card-cancel"):
        assert card.get_by_test_id(test_id).is_visible()

    past = page.get_by_test_id("past-bookings")
    folded = past.get_by_test_id("booking-card")
    assert folded.count() == 1 and not folded.first.is_visible()
    past.locator("summary").click()
    assert folded.first.is_visible()
    assert folded.first.get_attribute("data-number") == gone.number
    assert folded.first.get_by_test_id("card-cancel").count() == 0
    assert_no_sideways_scroll(page)

    with page.expect_navigation():
        card.get_by_test_id("card-reschedule").click()
    assert urlsplit(page.url).path == reverse("booking:reschedule", args=[coming.token])


def test_the_kiosk_checks_in_by_booking_number(
    phone: Any, demo: Any, sms_outbox: Outbox, live_server: Any
) -> None:
    page = phone
    citizen = login(page, sms_outbox)
    point = ServicePoint.objects.get(code=HALL)
    business = Business.objects.select_related("category").get(code=NEW_CAR_PLATES)
    now = timezone.now()
    slot = Slot.objects.create(
        service_point=point,
        category=business.category,
        starts_at=now + timedelta(minutes=10),
        ends_at=now + timedelta(minutes=70),
        capacity_minutes=600,
        capacity_people=20,
        priority_release_at=now - timedelta(hours=1),
    )
    made = book(citizen, slot, "107")

    pair_kiosk(page, HALL)
    page.goto(reverse("hallqueue:kiosk", args=[HALL]))
    form = page.get_by_test_id("checkin-form")
    form.locator("#token").fill("0000 0000")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.get_by_test_id("refusal").get_attribute("data-code") == "booking.unknown"
    assert page.locator("#token").input_value() == "0000 0000", "what was typed is kept"

    form = page.get_by_test_id("checkin-form")
    form.locator("#token").fill(made.spaced_number.lower())
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.get_by_test_id("refusal").count() == 0
    ticket = Ticket.objects.get(booking=made)
    assert page.get_by_test_id("ticket-label").inner_text().strip() == ticket.label
    shown = page.get_by_test_id("ticket-booking-number")
    assert shown.inner_text().strip() == made.spaced_number
    size = float(shown.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert size >= 32, "the number is shown large"
    assert Booking.objects.get(pk=made.pk).status == BookingStatus.CHECKED_IN
    assert_no_sideways_scroll(page)
    wait_for_server_requests(live_server)
