"""The hall kiosk in a real browser, on a portrait touch screen (1080×1920): a bare page with
no site navigation and no login, every touch target 64 px high or more; a typed booking
number (as a scanner types it, with Enter) checks in and prints an 80 mm ticket with a QR
code; a walk-in of a priority class is told the window checks it, with the people ahead and
the wait; and after 20 s the kiosk is back at a clean start screen (Playwright's clock).

Demo facts only: GY-HALL-01 (观山湖区, LOW), its open windows serve P01 (新车注册登记)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.helpers import pair_kiosk, wait_for_server_requests
from tests.browser.test_hall_queue import HALL, NEW_CAR_PLATES, booked_slot, citizen
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import rules, services
from trafficdesk.hallqueue.models import Ticket, TicketStatus
from trafficdesk.sites.models import ServicePoint

pytestmark = pytest.mark.browser

PORTRAIT = {"width": 1080, "height": 1920}
MIN_TARGET_PX = 64
PRINTABLE_PX = 72 / 25.4 * 96  # 72 mm at CSS 96 dpi
PAGE_HEIGHT_PX = 120 / 25.4 * 96  # the printed page is 80 × 120 mm
STUB_PRINT = "window.__prints = 0; window.print = () => { window.__prints += 1; };"
TARGETS = "button, a[href], label.k-tile, input:not([type=hidden]):not([type=radio])"


@pytest.fixture
def kiosk(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        locale="zh-CN", base_url=live_server.url, viewport=PORTRAIT, has_touch=True
    )
    context.add_init_script(STUB_PRINT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
    wait_for_server_requests(live_server)


def kiosk_path(query: str = "") -> str:
    return reverse("hallqueue:kiosk", args=[HALL]) + query


def open_kiosk(page: Any, query: str = "") -> None:
    pair_kiosk(page, HALL)
    response = page.goto(kiosk_path(query))
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("checkin-form")).to_be_visible()


def small_targets(page: Any) -> list[str]:
    """The visible touch targets less than 64 px high, described."""
    found = []
    for target in page.locator(TARGETS).all():
        if not target.is_visible():
            continue
        box = target.bounding_box()
        assert box is not None
        if box["height"] < MIN_TARGET_PX:
            found.append(f"{target.evaluate('e => e.outerHTML')[:80]}: {box['height']:.0f}px")
    return found


def assert_start_screen_is_clean(page: Any) -> None:
    assert urlsplit(page.url).path == kiosk_path()
    expect(page.locator("body")).to_have_attribute("data-screen", "start")
    expect(page.locator("#token")).to_have_value("")
    expect(page.get_by_test_id("ticket")).to_have_count(0)
    expect(page.get_by_test_id("refusal")).to_have_count(0)
    assert page.locator("input[name=business]:checked").count() == 0


def test_the_kiosk_is_a_bare_page_with_large_targets(kiosk: Any, demo: Any) -> None:
    open_kiosk(kiosk)
    assert kiosk.get_by_test_id("public-nav").count() == 0
    assert kiosk.get_by_test_id("role-nav").count() == 0
    assert kiosk.locator("footer, nav").count() == 0
    assert kiosk.locator("a[href*='login']").count() == 0
    assert "登录" not in kiosk.locator("body").inner_text()
    # No link leaves the kiosk.
    for href in kiosk.locator("a[href]").evaluate_all("links => links.map(a => a.href)"):
        assert urlsplit(href).path == kiosk_path(), href
    # The booking number field has the focus, for the scanner; the keys are there.
    assert kiosk.evaluate("() => document.activeElement.id") == "token"
    expect(kiosk.get_by_test_id("keypad")).to_be_visible()
    assert kiosk.get_by_test_id("keypad").locator("button").count() >= 31
    expect(kiosk.get_by_test_id(f"business-{NEW_CAR_PLATES}")).to_be_visible()
    assert small_targets(kiosk) == []


def test_a_typed_booking_number_checks_in_and_prints_the_ticket(
    kiosk: Any, demo: Any, sms_outbox: Any
) -> None:
    made = booked_slot(citizen(sms_outbox), "711", timedelta(minutes=10))
    open_kiosk(kiosk, "?print=1")
    # A tile has the focus (someone touched it); the scanner types anyway, then Enter.
    kiosk.get_by_test_id(f"business-{NEW_CAR_PLATES}").click()
    with kiosk.expect_navigation() as nav:
        kiosk.keyboard.type(f"{made.number[:4].lower()} {made.number[4:].lower()}")
        kiosk.keyboard.press("Enter")
    assert nav.value is not None and nav.value.status == 200, kiosk.locator("main").inner_text()

    ticket = Ticket.objects.get(booking=made)
    card = kiosk.get_by_test_id("ticket")
    expect(card.get_by_test_id("ticket-label")).to_have_text(ticket.label)
    expect(card.get_by_test_id("ticket-booking-number")).to_have_text(made.spaced_number)
    expect(card.get_by_test_id("ticket-ahead")).to_contain_text("前面还有")
    expect(card.get_by_test_id("ticket-ahead")).to_have_attribute(
        "data-count", str(services.people_ahead(ticket))
    )
    expect(card.get_by_test_id("ticket-wait")).to_contain_text("预计等待")
    kiosk.wait_for_function("() => window.__prints === 1")
    assert small_targets(kiosk) == []

    # The paper ticket: 72 mm wide on the 80 mm roll, the number, the QR code; no screen parts.
    kiosk.emulate_media(media="print")
    paper = kiosk.get_by_test_id("print-ticket")
    expect(paper).to_be_visible()
    expect(card).to_be_hidden()
    expect(kiosk.get_by_test_id("done")).to_be_hidden()
    box = paper.bounding_box()
    assert box is not None and abs(box["width"] - PRINTABLE_PX) < 2, box
    assert box["height"] < PAGE_HEIGHT_PX, box  # one ticket, one page
    expect(paper).to_contain_text(ticket.label)
    expect(paper).to_contain_text("前面还有")
    qr = paper.get_by_test_id("ticket-qr").locator("svg")
    expect(qr).to_be_visible()
    qr_box = qr.bounding_box()
    assert qr_box is not None and qr_box["width"] > 100
    assert made.number not in paper.inner_text() and made.token not in paper.inner_html()
    page_rule = kiosk.evaluate(
        """() => [...document.styleSheets].flatMap(s => [...s.cssRules])
             .flatMap(r => r.cssRules ? [...r.cssRules] : [r])
             .filter(r => r instanceof CSSPageRule).map(r => r.cssText)"""
    )
    assert len(page_rule) == 1 and "size: 80mm 120mm" in page_rule[0], page_rule
    assert "margin: 0px" in page_rule[0], page_rule


def test_a_priority_walk_in_is_told_the_window_checks_it(kiosk: Any, demo: Any) -> None:
    point = ServicePoint.objects.get(code=HALL)
    business = Business.objects.select_related("category").get(code=NEW_CAR_PLATES)
    before = services.walk_in(point, business, "ESSENTIAL")  # same class, earlier: ahead
    services.walk_in(point, business)  # the general public: behind a priority

    open_kiosk(kiosk)
    form = kiosk.get_by_test_id("walkin-form")
    form.get_by_test_id(f"business-{NEW_CAR_PLATES}").click()
    form.get_by_test_id("class-ESSENTIAL").click()
    with kiosk.expect_navigation() as nav:
        form.locator("button[type=submit]").click()
    assert nav.value is not None and nav.value.status == 200, kiosk.locator("main").inner_text()

    card = kiosk.get_by_test_id("ticket")
    label = card.get_by_test_id("ticket-label").inner_text().strip()
    ticket = Ticket.objects.get(pk__gt=before.pk, applicant_class="ESSENTIAL")
    assert ticket.label == label and ticket.status == TicketStatus.WAITING
    expect(card.get_by_test_id("ticket-verify")).to_be_visible()
    expect(card.get_by_test_id("ticket-verify")).to_contain_text("窗口核验")
    expect(card.get_by_test_id("ticket-ahead")).to_have_text("前面还有 1 人")
    windows = services.windows_serving(ticket)
    assert windows >= 1
    minutes = rules.estimated_wait_minutes(1, business.service_minutes, windows)
    expect(card.get_by_test_id("ticket-wait")).to_have_text(f"预计等待：约 {minutes} 分钟")
    expect(card.get_by_test_id("ticket-business")).to_have_text(business.name_zh)
    text = card.inner_text()
    assert "ESSENTIAL" not in text and "waiting" not in text
    # Not configured to print: nothing is printed.
    assert kiosk.evaluate("() => window.__prints") == 0


def test_the_kiosk_clears_itself_after_20_seconds(kiosk: Any, demo: Any) -> None:
    kiosk.clock.install()
    open_kiosk(kiosk)
    entries = kiosk.evaluate("() => history.length")
    form = kiosk.get_by_test_id("walkin-form")
    form.get_by_test_id(f"business-{NEW_CAR_PLATES}").click()
    with kiosk.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(kiosk.get_by_test_id("ticket")).to_be_visible()
    expect(kiosk.get_by_test_id("countdown")).to_have_text("20")
    kiosk.clock.run_for(5_000)
    expect(kiosk.get_by_test_id("countdown")).to_have_text("15")
    assert kiosk.locator("body").get_attribute("data-screen") == "ticket"
    with kiosk.expect_navigation():
        kiosk.clock.run_for(16_000)
    assert_start_screen_is_clean(kiosk)
    # The start screen took the ticket's place in the history (location.replace).
    assert kiosk.evaluate("() => history.length") == entries + 1

    # A refusal keeps what was typed, then clears it too.
    kiosk.locator("#token").fill("ZZZZ ZZZ2")
    with kiosk.expect_navigation() as nav:
        kiosk.keyboard.press("Enter")
    assert nav.value is not None and nav.value.status == 409
    refusal = kiosk.get_by_test_id("refusal")
    expect(refusal).to_have_attribute("data-code", "booking.unknown")
    expect(kiosk.locator(".k-refusal")).to_contain_text("咨询台")
    expect(kiosk.locator("#token")).to_have_value("ZZZZ ZZZ2")
    with kiosk.expect_navigation():
        kiosk.clock.run_for(21_000)
    assert_start_screen_is_clean(kiosk)


def test_done_and_a_minute_idle_clear_the_kiosk(kiosk: Any, demo: Any) -> None:
    kiosk.clock.install()
    open_kiosk(kiosk)
    keypad = kiosk.get_by_test_id("keypad")
    for key in "7KQ4M":
        keypad.locator(f"button[data-key='{key}']").click()
    expect(kiosk.locator("#token")).to_have_value("7KQ4 M")
    keypad.locator("button[data-key='back']").click()
    expect(kiosk.locator("#token")).to_have_value("7KQ4")
    kiosk.get_by_test_id(f"business-{NEW_CAR_PLATES}").click()
    kiosk.clock.run_for(30_000)
    assert kiosk.locator("body").get_attribute("data-screen") == "start"
    expect(kiosk.locator("#token")).to_have_value("7KQ4")  # not yet: half a minute
    with kiosk.expect_navigation():
        kiosk.clock.run_for(31_000)
    assert_start_screen_is_clean(kiosk)

    # "Done" on a ticket goes back at once.
    kiosk.get_by_test_id(f"business-{NEW_CAR_PLATES}").click()
    with kiosk.expect_navigation():
        kiosk.get_by_test_id("walkin-form").locator("button[type=submit]").click()
    expect(kiosk.get_by_test_id("ticket")).to_be_visible()
    with kiosk.expect_navigation():
        kiosk.get_by_test_id("done").click()
    assert_start_screen_is_clean(kiosk)


def test_an_unregistered_kiosk_says_whom_to_ask_and_a_switched_off_one_stops(
    kiosk: Any, demo: Any
) -> None:
    """Issue 17 item 4: the kiosk page of a screen never paired shows the plain refusal (in
    Chinese, with nothing to touch); once paired it issues tickets; when the hall manager
    switches it off, the next ticket is refused on the screen."""
    from trafficdesk.accounts.models import User
    from trafficdesk.hallqueue.models import KioskDevice

    response = kiosk.goto(kiosk_path())
    assert response is not None and response.status == 403
    expect(kiosk.get_by_test_id("kiosk-locked")).to_contain_text("请联系大厅负责人")
    assert kiosk.get_by_test_id("walkin-form").count() == 0
    assert kiosk.locator("a[href], button").count() == 0
    open_kiosk(kiosk)
    kiosk.get_by_test_id(f"business-{NEW_CAR_PLATES}").click()
    with kiosk.expect_navigation():
        kiosk.locator("button.k-take").click()
    expect(kiosk.get_by_test_id("ticket-label")).to_be_visible()
    device = KioskDevice.objects.get(name="浏览器取号机")
    services.revoke_kiosk(User.objects.get(username="manager"), device)
    response = kiosk.goto(kiosk_path())
    assert response is not None and response.status == 403
    expect(kiosk.get_by_test_id("kiosk-locked")).to_be_visible()
