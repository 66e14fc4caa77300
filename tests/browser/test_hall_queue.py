"""The hall queue in a real browser: a walk-in takes a ticket at the kiosk, a clerk calls it
from the window console and the display board (a server-sent events stream) shows and speaks
the call without a reload; a booking's QR code checks in at the kiosk; a full zone sends
people outside until there is room; and the policy refuses walk-ins at MEDIUM risk.

The scenario rests on demo facts only: GY-HALL-01 lies in 观山湖区 (520115, LOW), its windows
1-4 serve P01 (window 3 is a normal window) and the demo clerk "clerk" works there. The kiosk
and the board need no login. Labels, windows and zones are looked up here, never assumed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.helpers import pair_kiosk, staff_login, wait_for_server_requests
from tests.realname import may_book_for
from trafficdesk.accounts.models import User
from trafficdesk.accounts.services import request_login_code, verify_login_code
from trafficdesk.booking import services as booking
from trafficdesk.booking.models import Booking, BookingStatus, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core import live
from trafficdesk.core.models import LiveEvent
from trafficdesk.core.validators import id_check_char
from trafficdesk.core.vocabulary import WindowKind
from trafficdesk.demo.services import DEMO_CITIZEN_MOBILE
from trafficdesk.hallqueue import services as hall
from trafficdesk.hallqueue.models import Call, Ticket, TicketStatus
from trafficdesk.policy import services as policy
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint, Window, Zone

pytestmark = pytest.mark.browser

Outbox = list[tuple[str, str]]
GUANSHANHU = "520115"  # 观山湖区: LOW in the demo, home of GY-HALL-01
HALL = "GY-HALL-01"
NEW_CAR_PLATES = "P01"
GENERAL = "GENERAL"
CLERK = "clerk"
CLERK_WINDOW = 3  # a normal window of the hall that serves P01
TIMEOUT_MS = 10_000
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def resident_id(serial: str = "123", born: str = "19900307") -> str:
    """A valid 18-character resident ID registered in 观山湖区."""
    first17 = f"{GUANSHANHU}{born}{serial}"
    return first17 + id_check_char(first17)


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """Opens pages in fresh browser contexts (separate cookies: kiosk, clerk, board)."""
    contexts = []

    def make() -> Any:
        context = browser.new_context(locale="zh-CN", base_url=live_server.url)
        contexts.append(context)
        opened = context.new_page()
        opened.set_default_timeout(TIMEOUT_MS)
        return opened

    yield make
    for context in contexts:
        context.close()
    wait_for_server_requests(live_server)


# --- helpers ---------------------------------------------------------------------------------


def citizen(sms_outbox: Outbox) -> User:
    """The demo citizen, logged in once by SMS code (which is what creates the account)."""
    request_login_code(DEMO_CITIZEN_MOBILE)
    sent = [text for number, text in sms_outbox if number == DEMO_CITIZEN_MOBILE]
    assert sent, sms_outbox
    match = CODE_RE.search(sent[-1])
    assert match, sent[-1]
    return verify_login_code(DEMO_CITIZEN_MOBILE, match.group(1))


def clerk_window() -> Window:
    window = Window.objects.select_related("zone", "service_point").get(
        service_point__code=HALL, number=CLERK_WINDOW
    )
    assert window.kind == WindowKind.NORMAL and window.is_open
    assert window.businesses.filter(code=NEW_CAR_PLATES).exists()
    return window


def open_kiosk(page: Any) -> None:
    """Open the hall's kiosk, in a browser paired as a registered kiosk of the hall."""
    pair_kiosk(page, HALL)
    response = page.goto(reverse("hallqueue:kiosk", args=[HALL]))
    assert response is not None and response.status == 200


def take_walk_in(page: Any, business: str = NEW_CAR_PLATES, applicant_class: str = GENERAL) -> Any:
    """Take a walk-in ticket at the kiosk (already open); returns the navigation response."""
    form = page.get_by_test_id("walkin-form")
    form.get_by_test_id(f"business-{business}").click()
    form.get_by_test_id(f"class-{applicant_class}").click()
    with page.expect_navigation() as nav:
        form.locator("button[type=submit]").click()
    assert nav.value is not None
    return nav.value


def shown_ticket(page: Any) -> tuple[str, str]:
    """The label and status of the ticket the kiosk just issued."""
    card = page.get_by_test_id("ticket")
    expect(card).to_be_visible()
    label = card.get_by_test_id("ticket-label").inner_text().strip()
    return label, card.get_attribute("data-status") or ""


def ticket_by_label(label: str) -> Ticket:
    return Ticket.objects.get(
        service_point__code=HALL,
        day=timezone.localdate(),
        prefix=label[:-3],
        number=int(label[-3:]),
    )


def open_board(page: Any) -> None:
    response = page.goto(reverse("hallqueue:board", args=[HALL]))
    assert response is not None and response.status == 200
    page.wait_for_function("() => window.boardReady === true", timeout=TIMEOUT_MS)


# --- tests -----------------------------------------------------------------------------------


def test_walk_in_is_called_at_the_window_and_shown_live_on_the_board(
    new_page: Any, demo: Any
) -> None:
    window = clerk_window()

    # The display board, connected to its event stream before anything happens.
    board = new_page()
    open_board(board)
    assert board.evaluate("() => window.lastSpoken") is None
    board.evaluate("() => { window.sameDocument = true; }")

    # A walk-in at the kiosk, without logging in.
    kiosk = new_page()
    open_kiosk(kiosk)
    response = take_walk_in(kiosk)
    assert response.status == 200, kiosk.locator("main").inner_text()
    label, status = shown_ticket(kiosk)
    assert status == TicketStatus.WAITING
    ticket = ticket_by_label(label)
    assert ticket.business.code == NEW_CAR_PLATES
    assert ticket.applicant_class == GENERAL and not ticket.on_time and ticket.booking is None
    assert ticket.zone_id == window.zone_id

    # The clerk chooses window 3 on the console and calls the next ticket.
    console = new_page()
    staff_login(console, CLERK)
    console.goto(reverse("hallqueue:console"))
    with console.expect_navigation():
        console.locator(f'[data-testid=choose-window][data-window="{window.pk}"]').click()
    assert f"window={window.pk}" in console.url
    call_next = console.get_by_test_id("call-next")
    expect(call_next).to_be_visible()
    call_next.click()  # htmx: the console's live panel answers in place
    expect(console.get_by_test_id("current-label")).to_have_text(label)
    assert urlsplit(console.url).path == reverse("hallqueue:console")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CALLED and ticket.window_id == window.pk
    assert list(Call.objects.filter(ticket=ticket).values_list("label", "window_number")) == [
        (label, CLERK_WINDOW)
    ]

    # The board was not reloaded: the call arrives through the event stream.
    expect(board.get_by_test_id("now")).to_contain_text(
        f"{label} → {CLERK_WINDOW}", timeout=TIMEOUT_MS
    )
    expect(board.get_by_test_id("recent").locator("li").first).to_have_text(
        f"{label} → {CLERK_WINDOW}"
    )
    board.wait_for_function("() => window.lastSpoken !== undefined", timeout=TIMEOUT_MS)
    assert board.evaluate("() => window.lastSpoken") == f"请 {label} 号到 {CLERK_WINDOW} 号窗口办理"
    assert board.evaluate("() => window.sameDocument") is True


def booked_slot(holder: User, serial: str, starts_in: timedelta) -> Booking:
    """A booking of P01 at the hall in a slot (made here) starting `starts_in` from now."""
    point = ServicePoint.objects.get(code=HALL)
    business = Business.objects.select_related("category").get(code=NEW_CAR_PLATES)
    now = timezone.now()
    slot = Slot.objects.create(
        service_point=point,
        category=business.category,
        starts_at=now + starts_in,
        ends_at=now + starts_in + timedelta(minutes=60),
        capacity_minutes=600,
        capacity_people=20,
        priority_release_at=now - timedelta(hours=1),
    )
    number = may_book_for(holder, resident_id(serial))
    made = booking.book(holder, slot.pk, [NEW_CAR_PLATES], number, GENERAL, notify=False)
    assert made.status == BookingStatus.ACTIVE
    return made


def check_in(page: Any, token: str) -> Any:
    """Type a booking code into the kiosk (already open); returns the navigation response."""
    form = page.get_by_test_id("checkin-form")
    form.locator("#token").fill(token)
    with page.expect_navigation() as nav:
        form.locator("button[type=submit]").click()
    assert nav.value is not None
    return nav.value


def test_booking_qr_code_checks_in_at_the_kiosk(
    new_page: Any, demo: Any, sms_outbox: Outbox
) -> None:
    holder = citizen(sms_outbox)
    # booking.services.book refuses a slot that has already started ("slot.past"): one booking
    # is for a slot starting in 10 minutes (inside the 30-minute early check-in); the other was
    # made earlier for a slot that is now running (started 5 minutes ago, ends in 55).
    soon = booked_slot(holder, "654", timedelta(minutes=10))
    running = booked_slot(holder, "655", timedelta(minutes=20))
    now = timezone.now()
    Slot.objects.filter(pk=running.slot_id).update(
        starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(minutes=55)
    )

    kiosk = new_page()
    labels = []
    for made in (soon, running):
        open_kiosk(kiosk)
        response = check_in(kiosk, made.token)
        assert response.status == 200, kiosk.locator("main").inner_text()
        assert kiosk.get_by_test_id("refusal").count() == 0
        label, status = shown_ticket(kiosk)
        assert status == TicketStatus.WAITING
        labels.append(label)

        made.refresh_from_db()
        assert made.status == BookingStatus.CHECKED_IN
        ticket = Ticket.objects.get(booking=made)
        assert ticket.label == label
        assert ticket.on_time and ticket.business.code == NEW_CAR_PLATES
        assert ticket.mobile == DEMO_CITIZEN_MOBILE
    assert len(set(labels)) == 2

    # The same code cannot check in twice.
    open_kiosk(kiosk)
    assert check_in(kiosk, soon.token).status == 409
    expect(kiosk.get_by_test_id("refusal")).to_have_attribute("data-code", "booking.not_active")
    assert kiosk.get_by_test_id("ticket").count() == 0
    assert Ticket.objects.filter(booking=soon).count() == 1


def test_full_zone_sends_walk_ins_outside_until_there_is_room(
    new_page: Any, demo: Any, sms_outbox: Outbox
) -> None:
    window = clerk_window()
    Zone.objects.filter(pk=window.zone_id).update(occupancy_cap=F("present") + 1)
    zone = Zone.objects.get(pk=window.zone_id)
    assert zone.present + 1 == zone.occupancy_cap

    kiosk = new_page()
    open_kiosk(kiosk)
    assert take_walk_in(kiosk).status == 200
    first_label, first_status = shown_ticket(kiosk)
    assert first_status == TicketStatus.WAITING
    expect(kiosk.get_by_test_id("ticket").get_by_role("alert")).to_have_count(0)

    open_kiosk(kiosk)
    assert take_walk_in(kiosk).status == 200
    second_label, second_status = shown_ticket(kiosk)
    assert second_label != first_label
    assert second_status == TicketStatus.OUTSIDE
    expect(kiosk.get_by_test_id("ticket").get_by_role("alert")).to_be_visible()

    zone.refresh_from_db()
    assert zone.present == zone.occupancy_cap
    first, second = ticket_by_label(first_label), ticket_by_label(second_label)
    assert (first.status, second.status) == (TicketStatus.WAITING, TicketStatus.OUTSIDE)
    assert second.admitted_at is None

    # The clerk calls and serves the first; the second is let in.
    clerk = User.objects.get(username=CLERK)
    called = hall.call_next(clerk, window)
    assert called is not None and called.pk == first.pk
    second.refresh_from_db()
    assert second.status == TicketStatus.OUTSIDE
    hall.complete(clerk, called)

    first.refresh_from_db()
    second.refresh_from_db()
    zone.refresh_from_db()
    assert first.status == TicketStatus.DONE
    assert second.status == TicketStatus.WAITING
    assert second.admitted_at is not None
    assert zone.present == zone.occupancy_cap
    # A walk-in leaves no mobile number, so nobody is told by SMS.
    assert second.mobile == ""
    assert sms_outbox == []


def test_walk_in_is_refused_when_the_county_needs_appointments(new_page: Any, demo: Any) -> None:
    kiosk = new_page()
    open_kiosk(kiosk)

    county = Region.objects.get(code=GUANSHANHU)
    set_risk_level(
        User.objects.get(username="gz_admin"), county, "MEDIUM", reason="浏览器测试：升为中风险"
    )
    point = ServicePoint.objects.get(code=HALL)
    business = Business.objects.select_related("category").get(code=NEW_CAR_PLATES)
    decision = policy.decide_for(point, business, GENERAL)
    assert decision.open and decision.appointment_required, decision
    before = Ticket.objects.filter(service_point=point).count()

    response = take_walk_in(kiosk)

    assert response.status == 409
    refusal = kiosk.get_by_test_id("refusal")
    expect(refusal).to_be_visible()
    expect(refusal).to_have_attribute("data-code", "policy.appointment")
    assert kiosk.get_by_test_id("ticket").count() == 0
    assert Ticket.objects.filter(service_point=point).count() == before


def test_board_reconnects_with_last_event_id_and_misses_no_call(
    new_page: Any, demo: Any, settings: Any
) -> None:
    """The stream ends after LIVE_STREAM_SECONDS (shortened here) and the browser reconnects
    with Last-Event-ID; a call made after the reconnection still reaches the same page."""
    settings.LIVE_STREAM_SECONDS = 1
    window = clerk_window()
    point = ServicePoint.objects.get(code=HALL)
    business = Business.objects.select_related("category").get(code=NEW_CAR_PLATES)
    first, second = hall.walk_in(point, business), hall.walk_in(point, business)
    clerk = User.objects.get(username=CLERK)
    events_path = reverse("hallqueue:board-events", args=[HALL])

    board = new_page()
    open_board(board)
    board.evaluate("() => { window.sameDocument = true; }")
    called = hall.call_next(clerk, window)
    assert called is not None and called.pk == first.pk
    expect(board.get_by_test_id("now")).to_contain_text(f"{first.label} → {CLERK_WINDOW}")
    first_event = LiveEvent.objects.filter(
        channel=live.hall_channel(point.pk),
        kind="call",
        data__call=Call.objects.get(ticket=first).pk,
    ).get()

    with board.expect_request(
        lambda request: (
            urlsplit(request.url).path == events_path
            and request.all_headers().get("last-event-id") == str(first_event.pk)
        ),
        timeout=TIMEOUT_MS,
    ):
        pass  # the stream ends within a second and the browser comes back with the last id
    hall.complete(clerk, called)
    called = hall.call_next(clerk, window)
    assert called is not None and called.pk == second.pk

    expect(board.get_by_test_id("now")).to_contain_text(f"{second.label} → {CLERK_WINDOW}")
    expect(board.get_by_test_id("recent").locator("li")).to_have_text(
        [f"{second.label} → {CLERK_WINDOW}", f"{first.label} → {CLERK_WINDOW}"]
    )
    assert board.evaluate("() => window.lastSpoken") == (
        f"请 {second.label} 号到 {CLERK_WINDOW} 号窗口办理"
    )
    assert board.evaluate("() => window.sameDocument") is True


def test_the_console_and_the_managers_page_follow_the_queue_without_reloading(
    new_page: Any, demo: Any
) -> None:
    """Both staff screens re-read their panel when the hall's stream says the queue changed:
    a walk-in raises the waiting count on each, without a reload."""
    window = clerk_window()
    point = ServicePoint.objects.get(code=HALL)
    business = Business.objects.select_related("category").get(code=NEW_CAR_PLATES)

    console = new_page()
    staff_login(console, CLERK)
    console.goto(f"{reverse('hallqueue:console')}?window={window.pk}")
    manager = new_page()
    staff_login(manager, "manager")
    manager.goto(reverse("hallqueue:manager", args=[HALL]))
    screens = {
        "console": (console, console.get_by_test_id("console-live")),
        "manager": (manager, manager.get_by_test_id("manager-live")),
    }
    before = {}
    for name, (page, panel) in screens.items():
        expect(panel).to_have_attribute("data-live-ready", "1", timeout=TIMEOUT_MS)
        page.evaluate("() => { window.sameDocument = true; }")
        before[name] = int(panel.get_by_test_id("waiting").inner_text())

    hall.walk_in(point, business)

    for name, (page, panel) in screens.items():
        expect(panel.get_by_test_id("waiting")).to_have_text(
            str(before[name] + 1), timeout=TIMEOUT_MS
        )
        assert page.evaluate("() => window.sameDocument") is True, f"the {name} reloaded"
    # The classes are named for people, not by their internal codes.
    by_class = manager.get_by_test_id("waiting-by-class").inner_text()
    assert GENERAL not in by_class and by_class.strip()
