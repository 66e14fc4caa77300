"""Booking an appointment in a real browser on a phone-sized screen: a citizen logs in by SMS
code, finds free slots, books one with a resident ID, gets a QR confirmation and an SMS, sees
it in "My bookings" and can cancel it; duplicates and policy refusals are explained.

The scenario rests on demo facts only: 观山湖区 (520115) is LOW with GY-HALL-01, which serves
P01 (new-car plates) and has slots for the next 7 days. Everything else (free slots, reasons,
alternatives, labels) is computed here with the same services the pages use."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from trafficdesk.accounts.models import Role, User
from trafficdesk.booking import services as booking
from trafficdesk.booking.models import Booking, BookingStatus, CapacityRelease, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import id_check_char, mask_resident_id
from trafficdesk.demo.services import DEMO_CITIZEN_MOBILE
from trafficdesk.policy import services as policy
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint

pytestmark = pytest.mark.browser

Outbox = list[tuple[str, str]]
GUANSHANHU = "520115"  # 观山湖区: LOW in the demo, home of GY-HALL-01
HALL = "GY-HALL-01"
NEW_CAR_PLATES = "P01"
GENERAL = "GENERAL"
PHONE = {"width": 390, "height": 844}
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
SLOT_PATH_RE = re.compile(r"/booking/slot/(\d+)/")


def resident_id(serial: str = "123", born: str = "19900307") -> str:
    """A valid 18-character resident ID registered in 观山湖区."""
    first17 = f"{GUANSHANHU}{born}{serial}"
    return first17 + id_check_char(first17)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def local(moment: datetime, fmt: str) -> str:
    return timezone.localtime(moment).strftime(fmt)


# --- helpers ---------------------------------------------------------------------------------


def citizen_login(page: Any, sms_outbox: Outbox) -> Any:
    """Log in with the code sent by SMS; returns the citizen user."""
    page.goto(reverse("accounts:citizen-login"))
    page.locator("#id_mobile").fill(DEMO_CITIZEN_MOBILE)
    with page.expect_navigation() as nav:
        page.locator("form:has(#id_mobile) button[type=submit]").click()
    assert nav.value is not None and nav.value.status == 200
    page.locator("#id_code").wait_for()
    to_citizen = [text for number, text in sms_outbox if number == DEMO_CITIZEN_MOBILE]
    assert to_citizen, f"no SMS to the citizen in {sms_outbox!r}"
    match = CODE_RE.search(to_citizen[-1])
    assert match, to_citizen[-1]
    page.locator("#id_code").fill(match.group(1))
    with page.expect_navigation(url=re.compile(re.escape(reverse("accounts:me")) + r"$")):
        page.locator("form:has(#id_code) button[type=submit]").click()
    assert page.get_by_test_id("role-nav").get_attribute("data-role") == Role.CITIZEN
    return User.objects.get(mobile=DEMO_CITIZEN_MOBILE)


def choose_url(business: str = NEW_CAR_PLATES, county: str = GUANSHANHU) -> str:
    query = urlencode({"business": business, "county": county, "class": GENERAL})
    return f"{reverse('booking:choose')}?{query}"


def slot_url(slot: Slot, business: str = NEW_CAR_PLATES) -> str:
    return f"{reverse('booking:book', args=[slot.pk])}?{urlencode({'business': business, 'class': GENERAL})}"


def shown_slot_ids(page: Any, point_code: str) -> list[int]:
    links = page.locator(f"[data-testid=option][data-code='{point_code}'] a[data-testid=slot]")
    ids = []
    for i in range(links.count()):
        match = SLOT_PATH_RE.search(links.nth(i).get_attribute("href") or "")
        assert match, links.nth(i).get_attribute("href")
        ids.append(int(match.group(1)))
    return ids


def hall_slots(page: Any) -> list[int]:
    """Open the choose page for P01 in 观山湖区 and return the slot ids shown for the hall."""
    page.goto(choose_url())
    ids = shown_slot_ids(page, HALL)
    assert ids, f"no free slot shown for {HALL}"
    return ids


def submit_booking(page: Any, id_number: str) -> Any:
    page.locator("#id_id_number").fill(id_number)
    with page.expect_navigation() as nav:
        page.locator("form:has(#id_id_number) button[type=submit]").click()
    assert nav.value is not None
    return nav.value


def people_booked(slot_id: int) -> int:
    return Slot.objects.get(pk=slot_id).booked_people


def active_bookings(user: Any) -> Any:
    return Booking.objects.filter(holder=user, status__in=booking.ACTIVE_STATUSES)


# --- tests -----------------------------------------------------------------------------------


def test_citizen_books_a_slot_on_a_phone(phone: Any, demo: Any, sms_outbox: Outbox) -> None:
    page = phone
    citizen = citizen_login(page, sms_outbox)
    assert page.evaluate("() => window.innerWidth") == PHONE["width"]

    # The booking entry of the role navigation.
    entry = page.get_by_test_id("role-nav").locator(f"a[href='{reverse('booking:choose')}']")
    assert entry.inner_text().strip() == zh("Book an appointment")
    with page.expect_navigation():
        entry.click()
    assert urlsplit(page.url).path == reverse("booking:choose")

    form = page.get_by_test_id("choose-form")
    form.locator("#business").select_option(NEW_CAR_PLATES)
    form.locator("#county").select_option(GUANSHANHU)
    form.locator("#class").select_option(GENERAL)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"business": [NEW_CAR_PLATES], "county": [GUANSHANHU], "class": [GENERAL]}

    point = ServicePoint.objects.get(code=HALL)
    business = Business.objects.get(code=NEW_CAR_PLATES)
    expected = booking.free_slots(
        point, business.category_id, GENERAL, minutes=business.service_minutes, limit=8
    )
    shown = shown_slot_ids(page, HALL)
    assert shown, f"{HALL} shows no free slot"
    assert shown == [s.pk for s in expected]

    slot = Slot.objects.get(pk=shown[0])
    before = slot.booked_people
    first = page.locator(f"[data-testid=option][data-code='{HALL}'] a[data-testid=slot]").first
    assert first.inner_text().startswith(local(slot.starts_at, "%m-%d %H:%M"))
    with page.expect_navigation():
        first.click()
    assert urlsplit(page.url).path == reverse("booking:book", args=[slot.pk])

    id_number = resident_id()
    response = submit_booking(page, id_number)
    assert response.status == 200, page.locator("main").inner_text()

    # The confirmation page: QR code, masked ID, slot time, never the full ID.
    made = Booking.objects.get(holder=citizen)
    assert urlsplit(page.url).path == reverse("booking:detail", args=[made.token])
    card = page.get_by_test_id("booking")
    assert card.get_attribute("data-status") == BookingStatus.ACTIVE
    assert page.get_by_test_id("qr").locator("svg").count() == 1
    assert page.get_by_test_id("qr").locator("svg").bounding_box()["width"] > 0
    masked = mask_resident_id(id_number)
    assert made.id_masked == masked
    assert masked in card.inner_text()
    assert id_number not in page.content()
    when = page.get_by_test_id("when").inner_text()
    assert when.startswith(local(slot.starts_at, "%Y-%m-%d %H:%M")), when
    assert local(slot.ends_at, "%H:%M") in when

    # My bookings lists it as booked.
    page.goto(reverse("booking:mine"))
    rows = page.get_by_test_id("my-bookings").locator("tbody tr[data-status]")
    assert rows.count() == 1
    row = rows.first
    assert row.get_attribute("data-status") == BookingStatus.ACTIVE
    with translation.override("zh-hans"):
        booked_label = str(BookingStatus.ACTIVE.label)
        point_name = point.name
    text = row.inner_text()
    assert booked_label in text and point_name in text and NEW_CAR_PLATES in text
    assert local(slot.starts_at, "%Y-%m-%d %H:%M") in text
    assert id_number not in page.content()

    # The database: one active booking, one more person on the slot.
    assert active_bookings(citizen).count() == 1
    assert made.slot_id == slot.pk
    assert people_booked(slot.pk) == before + 1

    # The SMS notice (sent on commit) went to the citizen and names the service point.
    notices = [
        text
        for number, text in sms_outbox
        if number == DEMO_CITIZEN_MOBILE and point.name_zh in text
    ]
    assert len(notices) == 1, sms_outbox
    assert local(slot.starts_at, "%H:%M") in notices[0]
    assert id_number not in notices[0]


def test_same_id_cannot_book_the_same_business_twice(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    page = phone
    citizen = citizen_login(page, sms_outbox)
    shown = hall_slots(page)
    assert len(shown) >= 2, "need two free slots at the hall"
    id_number = resident_id("456")
    first = booking.book(citizen, shown[0], [NEW_CAR_PLATES], id_number, GENERAL)
    other = Slot.objects.get(pk=shown[1])
    before = other.booked_people
    sent_before = len(sms_outbox)

    page.goto(slot_url(other))
    response = submit_booking(page, id_number)

    assert response.status == 409
    refusal = page.get_by_test_id("refusal")
    assert refusal.is_visible()
    assert refusal.get_attribute("data-code") == "booking.duplicate"
    assert refusal.inner_text().strip() == zh(
        "This ID number already has an active booking for one of these businesses."
    )
    assert urlsplit(page.url).path == reverse("booking:book", args=[other.pk])
    assert list(active_bookings(citizen)) == [first]
    assert people_booked(other.pk) == before
    assert len(sms_outbox) == sent_before


def test_cancelling_from_the_confirmation_page(phone: Any, demo: Any, sms_outbox: Outbox) -> None:
    page = phone
    citizen = citizen_login(page, sms_outbox)
    slot_id = hall_slots(page)[0]
    before = people_booked(slot_id)
    made = booking.book(citizen, slot_id, [NEW_CAR_PLATES], resident_id("789"), GENERAL)
    assert people_booked(slot_id) == before + 1

    page.goto(reverse("booking:detail", args=[made.token]))
    assert page.get_by_test_id("booking").get_attribute("data-status") == BookingStatus.ACTIVE
    cancel = page.get_by_role("button", name=zh("Cancel the booking"))
    clicked_at = timezone.now()
    with page.expect_navigation():
        cancel.click()
    answered_at = timezone.now()

    # Back in "My bookings", which says so and shows the booking as cancelled.
    assert urlsplit(page.url).path == reverse("booking:mine")
    assert zh("The booking is cancelled.") in page.locator("ul.messages").inner_text()
    row = page.get_by_test_id("my-bookings").locator("tbody tr[data-status]").first
    assert row.get_attribute("data-status") == BookingStatus.CANCELLED
    with translation.override("zh-hans"):
        assert str(BookingStatus.CANCELLED.label) in row.inner_text()

    page.goto(reverse("booking:detail", args=[made.token]))
    assert page.get_by_test_id("booking").get_attribute("data-status") == BookingStatus.CANCELLED
    assert page.get_by_test_id("qr").count() == 0
    assert page.get_by_role("button", name=zh("Cancel the booking")).count() == 0

    made.refresh_from_db()
    assert made.status == BookingStatus.CANCELLED
    assert not made.items.filter(active=True).exists()
    releases = list(CapacityRelease.objects.filter(slot_id=slot_id))
    assert len(releases) == 1
    release = releases[0]
    assert release.minutes == made.minutes
    # The place comes back at a random moment within the anti-trading delay.
    delay = timedelta(seconds=settings.BOOKING_RELEASE_DELAY_SECONDS)
    assert clicked_at <= release.release_at <= answered_at + delay
    if release.released_at is None:
        # Not returned yet: the place stays taken until the release runs.
        assert people_booked(slot_id) == before + 1
    else:
        # Only a release that was due (a zero random delay) is returned at once.
        assert release.release_at <= release.released_at
        assert people_booked(slot_id) == before


def test_policy_refusal_explains_why_and_offers_alternatives(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    page = phone
    citizen = citizen_login(page, sms_outbox)
    slot_id = hall_slots(page)[0]
    with page.expect_navigation():
        page.locator(f"[data-testid=option][data-code='{HALL}'] a[data-testid=slot]").first.click()
    assert urlsplit(page.url).path == reverse("booking:book", args=[slot_id])

    # While the citizen is on the slot page, the county goes to HIGH.
    county = Region.objects.get(code=GUANSHANHU)
    set_risk_level(
        User.objects.get(username="gz_admin"), county, "HIGH", reason="浏览器测试：升为高风险"
    )
    slot = Slot.objects.select_related("service_point__region__parent").get(pk=slot_id)
    point = slot.service_point
    business = Business.objects.select_related("category").get(code=NEW_CAR_PLATES)
    decision = policy.decide_for(point, business, GENERAL, slot.starts_at)
    assert not decision.open, "the demo policy should close P01 at a HIGH-risk hall"
    before = slot.booked_people

    response = submit_booking(page, resident_id("321"))

    assert response.status == 409
    refusal = page.get_by_test_id("refusal")
    assert refusal.is_visible()
    assert refusal.get_attribute("data-code") == "policy.closed"
    assert zh("The policy does not offer this business here to you at that time.") in (
        refusal.locator("p.error").inner_text()
    )
    reasons = [r.zh for r in decision.reasons]
    assert reasons
    shown_reasons = [t.strip() for t in refusal.locator("ul").first.locator("li").all_inner_texts()]
    assert shown_reasons == reasons

    with translation.override("zh-hans"):
        alternatives = booking.alternatives_for(
            point, [business], GENERAL, minutes=business.service_minutes
        )
    elsewhere = [a for a in alternatives if a.kind in ("service_point", "online")]
    assert elsewhere, f"expected another service point or online, got {alternatives!r}"
    assert all(a.service_point != HALL for a in elsewhere)
    alternatives_text = refusal.locator("ul").nth(1).inner_text()
    for alternative in alternatives:
        assert alternative.label in alternatives_text, (alternative, alternatives_text)

    assert not Booking.objects.filter(holder=citizen).exists()
    assert people_booked(slot_id) == before


def test_anonymous_slot_page_goes_to_login(phone: Any, demo: Any) -> None:
    page = phone
    slot = (
        Slot.objects.filter(service_point__code=HALL, starts_at__gt=timezone.now())
        .order_by("starts_at")
        .first()
    )
    assert slot is not None
    target = slot_url(slot)

    page.goto(target)

    parts = urlsplit(page.url)
    assert parts.path == reverse("accounts:citizen-login")
    assert parse_qs(parts.query).get("next") == [target]
    assert page.locator("#id_mobile").is_visible()
    assert page.get_by_test_id("role-nav").count() == 0
    assert page.get_by_test_id("refusal").count() == 0
