"""Booking an appointment in a real browser on a phone-sized screen, as in the 12123 app: a
citizen logs in by SMS code and goes business → place → date → slot → confirm: the business
by name, the places nearest first with their distance, a 7-day strip (有号/约满/不开放), the
day's slots with the places left (余号, never minutes, none over the lunch break), other
businesses of the same visit by name; gets a QR confirmation and an SMS, can cancel. A bad ID
keeps what was typed; refusals say why in one plain sentence and what to do instead.

The scenario rests on demo facts only: 观山湖区 (520115) is LOW with GY-HALL-01, which serves
P01 (new-car plates) and has slots for the next 7 days; 遵义 has no office of its own.
Everything else (places, distances, places left, reasons, alternatives, labels) is computed
here with the same services the pages use."""

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
from trafficdesk.booking import ledger
from trafficdesk.booking import services as booking
from trafficdesk.booking.models import Booking, BookingStatus, CapacityRelease, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import id_check_char, mask_resident_id
from trafficdesk.demo.services import DEMO_CITIZEN_MOBILE
from trafficdesk.policy import citizen as plain
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


def flow_query(business: str = NEW_CAR_PLATES, county: str = GUANSHANHU) -> str:
    return urlencode({"business": business, "county": county, "class": GENERAL})


def point_url(point: str = HALL, business: str = NEW_CAR_PLATES, county: str = GUANSHANHU) -> str:
    return f"{reverse('booking:point', args=[point])}?{flow_query(business, county)}"


def slot_url(slot: Slot, business: str = NEW_CAR_PLATES) -> str:
    return f"{reverse('booking:book', args=[slot.pk])}?{flow_query(business)}"


def shown_slot_ids(page: Any) -> list[int]:
    links = page.locator("[data-testid=slots] a[data-testid=slot]")
    ids = []
    for i in range(links.count()):
        match = SLOT_PATH_RE.search(links.nth(i).get_attribute("href") or "")
        assert match, links.nth(i).get_attribute("href")
        ids.append(int(match.group(1)))
    return ids


def hall_slots(page: Any) -> list[int]:
    """Open the hall's date page for P01 on tomorrow (a whole day of slots, whatever the hour
    the suite runs at: late in the afternoon today has one left) and return the slot ids
    offered."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    page.goto(f"{point_url()}&day={tomorrow.isoformat()}")
    ids = shown_slot_ids(page)
    assert ids, f"no free slot shown for {HALL}"
    return ids


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{page.url} is {width}px wide"


JARGON = re.compile(r"第\s*\d\s*阶段|R\d+\.|\b(LOW|MEDIUM|HIGH|GENERAL|EMERGENCY)\b")
STAFF_HINT = "建议根据需求增开窗口"


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


def test_citizen_books_through_business_place_date_slot_confirm(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    page = phone
    citizen = citizen_login(page, sms_outbox)
    assert page.evaluate("() => window.innerWidth") == PHONE["width"]
    business = Business.objects.select_related("category").get(code=NEW_CAR_PLATES)
    other = Business.objects.get(code="P02")
    point = ServicePoint.objects.select_related("region").get(code=HALL)
    with translation.override("zh-hans"):
        business_name, other_name, point_name = business.name, other.name, point.name

    # The booking entry of the role navigation.
    entry = page.get_by_test_id("role-nav").locator(f"a[href='{reverse('booking:choose')}']")
    assert entry.inner_text().strip() == zh("Book an appointment")
    with page.expect_navigation():
        entry.click()
    assert urlsplit(page.url).path == reverse("booking:choose")

    # 1. The business, by name, grouped by category; no code is shown.
    form = page.get_by_test_id("choose-form")
    assert not re.search(r"\b[A-Z]\d\d\b", form.inner_text())
    with translation.override("zh-hans"):
        assert business.category.name in form.locator("legend").all_inner_texts()
    form.locator("#county").select_option(GUANSHANHU)
    form.locator("#class").select_option(GENERAL)
    form.get_by_label(business_name, exact=True).check()
    no_sideways_scroll(page)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert urlsplit(page.url).path == reverse("booking:places")
    assert parse_qs(urlsplit(page.url).query) == {
        "business": [NEW_CAR_PLATES],
        "county": [GUANSHANHU],
        "class": [GENERAL],
    }

    # 2. The places, nearest first, each with its distance and whether it is open for me.
    county = Region.objects.select_related("parent").get(code=GUANSHANHU)
    expected = policy.places_for(county, business, GENERAL)
    places = page.get_by_test_id("place")
    codes = [places.nth(i).get_attribute("data-code") for i in range(places.count())]
    assert codes == [a.point.code for a in expected] and codes[0] == HALL
    shown_km = [
        int(
            re.search(
                r"约 (\d+) 公里", places.nth(i).get_by_test_id("distance").inner_text()
            ).group(1)
        )  # type: ignore[union-attr]
        for i in range(places.count())
    ]
    assert shown_km == sorted(shown_km)
    assert shown_km == [max(1, round(a.km)) for a in expected if a.km is not None]
    for i, answer in enumerate(expected):
        article = places.nth(i)
        assert article.get_attribute("data-open") == ("1" if answer.can_go_today else "0")
        if not answer.can_go_today:
            why = article.get_by_test_id("why").inner_text()
            assert why and not JARGON.search(why), why
    no_sideways_scroll(page)
    with page.expect_navigation():
        page.locator(f"[data-testid=place][data-code='{HALL}'] h3 a").click()
    assert urlsplit(page.url).path == reverse("booking:point", args=[HALL])

    # 3. A 7-day strip with each day's availability, then the day's slots with places left.
    days = page.get_by_test_id("day")
    assert days.count() == 7
    labels = {"open": zh("places left"), "full": zh("fully booked"), "closed": zh("not open")}
    assert labels == {"open": "有号", "full": "约满", "closed": "不开放"}
    for i in range(7):
        status = days.nth(i).get_attribute("data-status")
        assert labels[status] in days.nth(i).inner_text()
    assert "open" in [days.nth(i).get_attribute("data-status") for i in range(7)]
    no_sideways_scroll(page)
    slot_links = page.locator("[data-testid=slots] a[data-testid=slot]")
    assert slot_links.count() >= 1
    claim = ledger.claim_for(GENERAL, business.service_minutes)
    for i in range(slot_links.count()):
        link = slot_links.nth(i)
        slot = Slot.objects.get(pk=int(SLOT_PATH_RE.search(link.get_attribute("href")).group(1)))  # type: ignore[union-attr]
        left = ledger.places_left(slot, claim, timezone.now())
        assert link.get_attribute("data-left") == str(left)
        assert f"余号 {left}" in link.inner_text()
        assert "分钟" not in link.inner_text()
        starts, ends = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
        assert not (
            starts.time() < datetime.strptime("13:30", "%H:%M").time()
            and ends.time() > datetime.strptime("12:00", "%H:%M").time()
        ), (starts, ends)
    first_id = shown_slot_ids(page)[0]
    slot = Slot.objects.get(pk=first_id)
    before = slot.booked_people
    assert slot_links.first.inner_text().startswith(local(slot.starts_at, "%H:%M"))
    with page.expect_navigation():
        slot_links.first.click()
    assert urlsplit(page.url).path == reverse("booking:book", args=[slot.pk])

    # 4. Confirm, with another business of the same visit chosen by name.
    summary = page.get_by_test_id("summary").inner_text()
    assert business_name in summary and point_name in summary
    extra = page.get_by_test_id("extra")
    assert not re.search(r"\b[A-Z]\d\d\b", extra.inner_text())
    extra.get_by_label(other_name, exact=True).check()
    no_sideways_scroll(page)
    id_number = resident_id()
    response = submit_booking(page, id_number)
    assert response.status == 200, page.locator("main").inner_text()

    # The confirmation page: QR code, masked ID, slot time, never the full ID.
    made = Booking.objects.get(holder=citizen)
    assert urlsplit(page.url).path == reverse("booking:detail", args=[made.token])
    assert sorted(i.business.code for i in made.items.all()) == [NEW_CAR_PLATES, "P02"]
    card = page.get_by_test_id("booking")
    assert card.get_attribute("data-status") == BookingStatus.ACTIVE
    assert page.get_by_test_id("qr").locator("svg").count() == 1
    masked = mask_resident_id(id_number)
    assert made.id_masked == masked and masked in card.inner_text()
    assert id_number not in page.content()
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


def test_a_bad_id_keeps_everything_typed_with_a_plain_reason(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    page = phone
    citizen = citizen_login(page, sms_outbox)
    slot_id = hall_slots(page)[0]
    page.goto(slot_url(Slot.objects.get(pk=slot_id)))
    good = resident_id("654")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # a wrong check character
    with translation.override("zh-hans"):
        other_name = Business.objects.get(code="P02").name
    page.get_by_test_id("extra").get_by_label(other_name, exact=True).check()
    response = submit_booking(page, bad)

    assert response.status == 422
    field = page.locator("#id_id_number")
    assert field.input_value() == bad, "the ID typed is kept"
    error = page.get_by_test_id("id-error").inner_text().strip()
    assert error and "id." not in error and not re.search(r"[A-Za-z]{3,}", error), error
    assert page.get_by_test_id("extra").get_by_label(other_name, exact=True).is_checked()
    assert not Booking.objects.filter(holder=citizen).exists()

    # Corrected, it books.
    response = submit_booking(page, good)
    assert response.status == 200
    assert Booking.objects.filter(holder=citizen).count() == 1


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
    assert refusal.get_attribute("data-code") == "booking.duplicate"
    assert refusal.get_by_test_id("why").inner_text().strip() == zh(
        "This ID number already has an active booking for one of these businesses."
    )
    assert page.locator("#id_id_number").input_value() == id_number
    assert urlsplit(page.url).path == reverse("booking:book", args=[other.pk])
    assert list(active_bookings(citizen)) == [first]
    assert people_booked(other.pk) == before
    assert len(sms_outbox) == sent_before
    # The refusal links to the booking already made.
    link = refusal.locator("li[data-kind=booking] a")
    assert link.inner_text().strip() == zh("See the booking you already have")
    with page.expect_navigation():
        link.click()
    assert urlsplit(page.url).path == reverse("booking:detail", args=[first.token])


def test_cancelling_from_the_confirmation_page(phone: Any, demo: Any, sms_outbox: Outbox) -> None:
    page = phone
    citizen = citizen_login(page, sms_outbox)
    slot_id = hall_slots(page)[0]
    before = people_booked(slot_id)
    made = booking.book(citizen, slot_id, [NEW_CAR_PLATES], resident_id("789"), GENERAL)
    assert people_booked(slot_id) == before + 1

    page.goto(reverse("booking:detail", args=[made.token]))
    assert page.get_by_test_id("booking").get_attribute("data-status") == BookingStatus.ACTIVE
    with page.expect_navigation():
        page.get_by_test_id("cancel").click()
    clicked_at = timezone.now()
    with page.expect_navigation():
        page.get_by_test_id("confirm-cancel").click()
    answered_at = timezone.now()

    assert page.get_by_test_id("booking").get_attribute("data-status") == BookingStatus.CANCELLED
    assert page.get_by_test_id("qr").count() == 0
    made.refresh_from_db()
    assert made.status == BookingStatus.CANCELLED
    assert not made.items.filter(active=True).exists()
    releases = list(CapacityRelease.objects.filter(slot_id=slot_id))
    assert len(releases) == 1
    release = releases[0]
    assert release.minutes == made.minutes
    # The place comes back at a random moment within the anti-trading delay.
    delay = timedelta(seconds=settings.BOOKING_RELEASE_DELAY_SECONDS)
    assert clicked_at - timedelta(seconds=5) <= release.release_at <= answered_at + delay
    if release.released_at is None:
        assert people_booked(slot_id) == before + 1
    else:
        assert release.release_at <= release.released_at
        assert people_booked(slot_id) == before


def test_a_refused_applicant_reads_why_and_what_to_do_instead(
    phone: Any, demo: Any, sms_outbox: Outbox
) -> None:
    """The county goes HIGH while the citizen is on the confirm page of a business that is
    also online: one plain sentence, the online link, open places within 50 km with their
    distance, the office's phone; never the rule's jargon or the staff hint."""
    page = phone
    citizen = citizen_login(page, sms_outbox)
    lost_plate = Business.objects.select_related("category").get(code="V01")
    slot = (
        Slot.objects.filter(
            service_point__code=HALL, category=lost_plate.category, starts_at__gt=timezone.now()
        )
        .order_by("starts_at")
        .first()
    )
    assert slot is not None and lost_plate.online
    page.goto(slot_url(slot, "V01"))
    set_risk_level(
        User.objects.get(username="gz_admin"),
        Region.objects.get(code=GUANSHANHU),
        "HIGH",
        reason="浏览器测试：升为高风险",
    )
    point = ServicePoint.objects.select_related("region").get(code=HALL)
    decision = policy.decide_for(point, lost_plate, GENERAL, slot.starts_at)
    assert not decision.open
    before = slot.booked_people
    id_number = resident_id("321")

    response = submit_booking(page, id_number)

    assert response.status == 409
    refusal = page.get_by_test_id("refusal")
    assert refusal.get_attribute("data-code") == "policy.closed"
    why = refusal.get_by_test_id("why").inner_text().strip()
    with translation.override("zh-hans"):
        assert why == plain.plain_reason(decision, point.kind)
    assert "高风险" in why and not JARGON.search(why), why
    assert STAFF_HINT not in page.content()
    online = refusal.locator("li[data-kind=online] a")
    assert online.get_attribute("href") == reverse("online:apply", args=["V01"])
    places = refusal.locator("li[data-kind=service_point]")
    assert places.count() >= 1
    kms = []
    for i in range(places.count()):
        text = places.nth(i).inner_text()
        match = re.search(r"约 (\d+) 公里", text)
        assert match, text
        kms.append(int(match.group(1)))
        assert places.nth(i).get_attribute("data-code") != HALL
    assert kms == sorted(kms) and all(k <= 50 for k in kms)
    phone_link = refusal.locator("li[data-kind=phone] a")
    assert point.phone in phone_link.inner_text()
    assert phone_link.get_attribute("href") == f"tel:{point.phone}"
    assert page.locator("#id_id_number").input_value() == id_number
    no_sideways_scroll(page)
    assert not Booking.objects.filter(holder=citizen).exists()
    assert people_booked(slot.pk) == before

    # The places page says the same about the hall, in one sentence.
    page.goto(f"{reverse('booking:places')}?{flow_query('V01')}")
    hall = page.locator(f"[data-testid=place][data-code='{HALL}']")
    assert hall.get_attribute("data-open") == "0"
    assert hall.get_by_test_id("why").inner_text().strip() == why
    assert page.get_by_test_id("online").locator("a").get_attribute("href") == reverse(
        "online:apply", args=["V01"]
    )


def test_a_zunyi_applicant_is_not_offered_guiyang_as_nearby(phone: Any, demo: Any) -> None:
    page = phone
    huichuan = "520303"  # 遵义市汇川区: no office within 50 km in the demo
    page.goto(f"{reverse('booking:places')}?{flow_query(county=huichuan)}")
    assert page.get_by_test_id("none-near").inner_text().strip() == zh(
        "No open place for this business within %(km)s km."
    ) % {"km": 50}
    assert page.get_by_test_id("places-near").count() == 0
    far = page.get_by_test_id("places-far")
    hall = far.locator(f"[data-testid=place][data-code='{HALL}']")
    km = int(re.search(r"约 (\d+) 公里", hall.get_by_test_id("distance").inner_text()).group(1))  # type: ignore[union-attr]
    assert km > 100
    no_sideways_scroll(page)

    page.goto(f"{reverse('policy:open')}?{flow_query(county=huichuan)}")
    assert page.get_by_test_id("nearby").count() == 0
    assert page.get_by_test_id("none-near").is_visible()


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


def test_the_places_page_in_english_on_a_phone(browser: Any, live_server: Any, demo: Any) -> None:
    context = browser.new_context(
        locale="en-US", base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{reverse('booking:places')}?{flow_query(county='520303')}")
        assert page.locator("html").get_attribute("lang") == "en"
        with translation.override("en"):
            expected = gettext("No open place for this business within %(km)s km.") % {"km": 50}
        assert page.get_by_test_id("none-near").inner_text().strip() == expected
        hall = page.locator(f"[data-testid=place][data-code='{HALL}']")
        assert re.fullmatch(r"about \d+ km", hall.get_by_test_id("distance").inner_text().strip())
        no_sideways_scroll(page)
    finally:
        context.close()
