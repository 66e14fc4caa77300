"""The hall manager's page in a real browser: each window's status in words, the ticket it
serves and how long it has been idle; closing a window changes its row in place (and asks
first when a ticket is being served); the people waiting outside a full zone; the notice
line of the call display.

Demo facts only: the demo hall manager "manager" runs GY-HALL-01, whose window 3 (a normal
window, open) serves P01 and is where the demo clerk works."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.helpers import staff_login, wait_for_server_requests
from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import services as hall
from trafficdesk.hallqueue.models import Ticket, TicketStatus
from trafficdesk.sites.models import ServicePoint, Window, Zone
from trafficdesk.sites.services import set_window_open

pytestmark = pytest.mark.browser

HALL = "GY-HALL-01"
NEW_CAR_PLATES = "P01"
CLERK_WINDOW = 3
OPEN_WORDS, CLOSED_WORDS = "开放中", "已关闭"
TIMEOUT_MS = 10_000


@pytest.fixture
def manager_page(browser: Any, live_server: Any, demo: Any) -> Iterator[Any]:
    """The demo hall manager, logged in (after the demo data is back: tests flush it)."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    staff_login(page, "manager")
    yield page
    context.close()
    wait_for_server_requests(live_server)


def row(page: Any, number: int) -> Any:
    return page.locator(f"[data-testid=window-row][data-number='{number}']")


def serve_one_and_send_one_outside(point: ServicePoint) -> tuple[Ticket, Ticket]:
    """A walk-in called at the clerk's window; then, every zone of the hall full (through
    the queue's own check-in), a walk-in who has to wait outside."""
    business = Business.objects.select_related("category").get(code=NEW_CAR_PLATES)
    clerk = User.objects.get(username="clerk")
    first = hall.walk_in(point, business)
    window = Window.objects.get(service_point=point, number=CLERK_WINDOW)
    served = hall.call_next(clerk, window)
    assert served is not None and served.pk == first.pk
    # Lower every cap to the people inside (at least one place), then fill the rest.
    for zone in Zone.objects.filter(service_point=point):
        Zone.objects.filter(pk=zone.pk).update(occupancy_cap=max(zone.present, 1))
    for _attempt in range(len(Zone.objects.filter(service_point=point)) + 2):
        ticket = hall.walk_in(point, business)
        if ticket.status == TicketStatus.OUTSIDE:
            return served, ticket
    raise AssertionError("no zone filled up")


def test_the_window_table_shows_status_serving_idle_and_outside(
    manager_page: Any, demo: Any
) -> None:
    point = ServicePoint.objects.get(code=HALL)
    served, outside = serve_one_and_send_one_outside(point)
    windows = list(Window.objects.filter(service_point=point).order_by("number"))
    assert any(w.is_open for w in windows) and any(not w.is_open for w in windows)
    # An idle window reopened just now: idle "0 分钟" whatever the hour of the run (before
    # the hall's opening time a window nobody reopened has no idle time yet: "—").
    idle = next(w for w in windows if w.is_open and w.number != CLERK_WINDOW)
    manager = User.objects.get(username="manager")
    set_window_open(manager, idle, False)
    set_window_open(manager, idle, True)

    page = manager_page
    page.goto(reverse("hallqueue:manager", args=[HALL]))

    # Every window's status in words, never a bare verb.
    for w in windows:
        status = row(page, w.number).get_by_test_id("window-status")
        expect(status).to_have_text(OPEN_WORDS if w.is_open else CLOSED_WORDS)
        button = row(page, w.number).get_by_test_id("window-toggle")
        expect(button).to_have_text("关闭窗口" if w.is_open else "开放窗口")
    # The ticket being served, with its business and since when.
    serving = row(page, CLERK_WINDOW).get_by_test_id("window-serving")
    expect(serving).to_contain_text(served.label)
    expect(serving).to_contain_text(served.business.name)
    expect(row(page, CLERK_WINDOW).get_by_test_id("window-idle")).to_have_text("—")
    # An open window that serves nobody shows its idle time; a closed one none.
    expect(row(page, idle.number).get_by_test_id("window-idle")).to_contain_text("分钟")
    closed = next(w for w in windows if not w.is_open)
    expect(row(page, closed.number).get_by_test_id("window-idle")).to_have_text("—")
    # The full zone is marked, and the outside list names the ticket and its business.
    expect(page.locator("[data-testid=zone][data-full='1']").first).to_contain_text("已满")
    outside_rows = page.get_by_test_id("outside-row")
    expect(outside_rows).to_have_count(1)
    expect(outside_rows.first).to_contain_text(outside.label)
    expect(outside_rows.first).to_contain_text(outside.business.name)
    body = page.locator("main").inner_text() if page.locator("main").count() else ""
    assert "OUTSIDE" not in body and "CALLED" not in body and NEW_CAR_PLATES not in body


def test_closing_a_window_changes_its_row_in_place(manager_page: Any, demo: Any) -> None:
    point = ServicePoint.objects.get(code=HALL)
    served, _outside = serve_one_and_send_one_outside(point)
    idle = (
        Window.objects.filter(service_point=point, is_open=True)
        .exclude(number=CLERK_WINDOW)
        .order_by("number")
        .first()
    )
    assert idle is not None

    page = manager_page
    page.goto(reverse("hallqueue:manager", args=[HALL]))
    page.evaluate("() => { window.sameDocument = true; }")
    row(page, idle.number).get_by_test_id("window-toggle").click()
    expect(row(page, idle.number).get_by_test_id("window-status")).to_have_text(CLOSED_WORDS)
    expect(row(page, idle.number).get_by_test_id("window-toggle")).to_have_text("开放窗口")
    assert page.evaluate("() => window.sameDocument") is True
    idle.refresh_from_db()
    assert idle.is_open is False

    # Opening it again, in place.
    row(page, idle.number).get_by_test_id("window-toggle").click()
    expect(row(page, idle.number).get_by_test_id("window-status")).to_have_text(OPEN_WORDS)
    idle.refresh_from_db()
    assert idle.is_open is True

    # Closing the window that serves a ticket asks first; "no" keeps it open.
    busy = row(page, CLERK_WINDOW)
    page.once("dialog", lambda dialog: dialog.dismiss())
    busy.get_by_test_id("window-toggle").click()
    page.wait_for_timeout(500)
    expect(busy.get_by_test_id("window-status")).to_have_text(OPEN_WORDS)
    assert Window.objects.get(service_point=point, number=CLERK_WINDOW).is_open
    messages: list[str] = []

    def accept(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    busy.get_by_test_id("window-toggle").click()
    expect(busy.get_by_test_id("window-status")).to_have_text(CLOSED_WORDS)
    assert messages and served.label in messages[0]
    assert not Window.objects.get(service_point=point, number=CLERK_WINDOW).is_open
    assert page.evaluate("() => window.sameDocument") is True


def test_the_notice_line_of_the_call_display_is_saved_and_shown(
    manager_page: Any, demo: Any
) -> None:
    page = manager_page
    page.goto(reverse("hallqueue:my-hall"))
    notice = "今日下午三点起暂停办理车辆检验业务，请改约其他时段。"
    page.get_by_test_id("notice-text").fill(notice)
    page.get_by_test_id("notice-english").check()
    page.get_by_test_id("notice-save").click()
    expect(page.get_by_test_id("notice-saved")).to_be_visible()
    expect(page.get_by_test_id("notice-shown")).to_have_text(notice)
    point = ServicePoint.objects.get(code=HALL)
    assert (point.board_notice, point.board_speaks_english) == (notice, True)

    page.reload()
    expect(page.get_by_test_id("notice-text")).to_have_value(notice)
    expect(page.get_by_test_id("notice-english")).to_be_checked()
