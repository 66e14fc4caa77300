"""The clerk's window console in a real browser: the window chosen once opens the console
after the next login, closed windows cannot be chosen, the keyboard serves the queue (F1 or
Space call, R recalls, N asks to confirm a no-show: Esc cancels, Enter confirms, Enter
completes) without a page load, the waiting list shows the order the calls then take, and
the service timer ticks and turns amber.

Demo facts: GY-HALL-01, its window 3 (normal, P01, open) and window 6 (closed); the demo
clerk "clerk" works there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.helpers import staff_login, wait_for_server_requests
from tests.browser.test_every_page import (
    AXE,
    AXE_JS,
    VISIBLE_TEXT_JS,
    inject_axe,
    latin_offenders,
    vocabulary,
)
from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import services as hall
from trafficdesk.hallqueue.models import Call, Ticket, TicketStatus
from trafficdesk.sites.models import ServicePoint, Window

pytestmark = pytest.mark.browser

HALL = "GY-HALL-01"
CLERK = "clerk"
TIMEOUT_MS = 10_000


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """Pages in fresh browser contexts: separate cookies, as another browser or a new login."""
    contexts = []

    def make(**options: Any) -> Any:
        context = browser.new_context(locale="zh-CN", base_url=live_server.url, **options)
        contexts.append(context)
        opened = context.new_page()
        opened.set_default_timeout(TIMEOUT_MS)
        return opened

    yield make
    for context in contexts:
        context.close()
    wait_for_server_requests(live_server)


def window(number: int) -> Window:
    return Window.objects.get(service_point__code=HALL, number=number)


def walk_ins(*classes: str) -> list[Ticket]:
    point = ServicePoint.objects.select_related("region").get(code=HALL)
    business = Business.objects.select_related("category").get(code="P01")
    return [hall.walk_in(point, business, member) for member in classes]


def open_console(page: Any, at: Window) -> None:
    staff_login(page, CLERK)
    page.goto(f"{reverse('hallqueue:console')}?window={at.pk}")
    page.wait_for_function("() => window.consoleReady === true")
    expect(page.get_by_test_id("console-live")).to_have_attribute("data-live-ready", "1")
    page.evaluate("() => { window.sameDocument = true; }")


def same_document(page: Any) -> bool:
    return page.evaluate("() => window.sameDocument === true") is True


def test_the_chosen_window_opens_after_the_next_login_and_closed_ones_cannot_be_chosen(
    new_page: Any, demo: Any
) -> None:
    open_window, closed_window = window(3), window(6)
    assert open_window.is_open and not closed_window.is_open

    first = new_page()
    staff_login(first, CLERK)
    first.goto(reverse("hallqueue:console"))
    assert first.get_by_test_id("console-live").count() == 0
    closed = first.locator(f'[data-testid=closed-window][data-window="{closed_window.pk}"]')
    expect(closed).to_be_disabled()
    expect(closed).to_contain_text("已关闭，请联系大厅主管开启")
    assert (
        first.locator(f'[data-testid=choose-window][data-window="{closed_window.pk}"]').count() == 0
    )
    with first.expect_navigation():
        first.locator(f'[data-testid=choose-window][data-window="{open_window.pk}"]').click()
    expect(first.get_by_test_id("console-live")).to_have_attribute(
        "data-window", str(open_window.pk)
    )
    assert User.objects.get(username=CLERK).last_window_id == open_window.pk

    second = new_page()  # another browser: a new login, no session to fall back on
    staff_login(second, CLERK)
    second.goto(reverse("hallqueue:console"))
    expect(second.get_by_test_id("console-live")).to_have_attribute(
        "data-window", str(open_window.pk)
    )


def preview_labels(page: Any) -> list[str]:
    items = page.get_by_test_id("preview-item")
    return [items.nth(i).get_attribute("data-label") or "" for i in range(items.count())]


def test_the_keyboard_serves_the_queue_in_the_previewed_order_without_a_page_load(
    new_page: Any, demo: Any
) -> None:
    at = window(3)
    made = walk_ins("GENERAL", "GENERAL", "ESSENTIAL")
    Ticket.objects.filter(pk=made[0].pk).update(on_time=True)
    expected = [t.label for t in hall.queue_preview(at, limit=5)]
    by_arrival = [t.label for t in made]
    assert expected != by_arrival and sorted(expected) == sorted(by_arrival)

    page = new_page()
    open_console(page, at)
    expect(page.get_by_test_id("preview-item")).to_have_count(3)
    assert preview_labels(page) == expected
    current = page.get_by_test_id("current-label")

    page.keyboard.press("F1")
    expect(current).to_have_text(expected[0])
    first = Ticket.objects.get(
        service_point__code=HALL, prefix=expected[0][:-3], number=int(expected[0][-3:])
    )
    assert first.status == TicketStatus.CALLED and first.window_id == at.pk
    assert same_document(page), "F1 loaded a page"
    expect(page.get_by_test_id("preview-item")).to_have_count(2)
    assert preview_labels(page) == expected[1:]

    page.keyboard.press("r")
    expect(page.get_by_test_id("console-notice")).to_contain_text("重呼")
    assert Call.objects.filter(ticket=first).count() == 2
    assert same_document(page), "R loaded a page"

    dialog = page.get_by_test_id("noshow-dialog")
    page.keyboard.press("n")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("确认未到号？")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(current).to_have_text(expected[0])
    first.refresh_from_db()
    assert first.status == TicketStatus.CALLED

    page.keyboard.press("n")
    expect(dialog).to_be_visible()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("call-next")).to_be_visible()
    first.refresh_from_db()
    assert first.status == TicketStatus.SKIPPED
    assert same_document(page), "the confirmed no-show loaded a page"

    page.keyboard.press("Space")
    expect(current).to_have_text(expected[1])
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("call-next")).to_be_visible()
    second = Ticket.objects.get(pk=next(t.pk for t in made if t.label == expected[1]))
    assert second.status == TicketStatus.DONE
    assert same_document(page), "Space or Enter loaded a page"

    page.keyboard.press("F1")
    expect(current).to_have_text(expected[2])
    assert same_document(page), "the console reloaded"

    # The shortcuts leave a field alone: typing "n" in the transfer select opens nothing.
    page.locator("#transfer-business").focus()
    page.keyboard.press("n")
    expect(dialog).to_be_hidden()

    # The console while serving, which the every-page crawl does not see: no English, no
    # internal codes, no serious accessibility finding.
    assert latin_offenders(page.evaluate(VISIBLE_TEXT_JS), vocabulary()) == []
    if AXE.exists():
        inject_axe(page)
        assert page.evaluate(AXE_JS) == []


def test_the_service_timer_ticks_and_turns_amber_after_the_usual_time(
    new_page: Any, demo: Any
) -> None:
    at = window(3)
    (ticket,) = walk_ins("GENERAL")
    clerk = User.objects.get(username=CLERK)
    called = hall.call_next(clerk, at)
    assert called is not None and called.pk == ticket.pk
    usual = Business.objects.get(code="P01").service_minutes

    page = new_page(viewport={"width": 390, "height": 844})  # also: it fits a phone
    page.clock.install(time=timezone.now())
    open_console(page, at)
    timer = page.get_by_test_id("timer")
    text = page.get_by_test_id("timer-text")
    expect(text).to_have_text(re.compile(r"^00:0\d$"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 391
    assert "over" not in (timer.get_attribute("class") or "")

    page.clock.fast_forward("02:00")
    expect(text).to_have_text(re.compile(r"^02:0\d$"))
    assert "over" not in (timer.get_attribute("class") or "")

    page.clock.fast_forward(int(timedelta(minutes=usual).total_seconds() * 1000))
    expect(timer).to_have_class(re.compile(r"\bover\b"))
    expect(timer).to_contain_text(f"已超过通常的 {usual} 分钟")
    assert same_document(page)


def test_a_notice_keeps_its_level_when_the_live_stream_rereads_the_panel(
    new_page: Any, demo: Any
) -> None:
    """An action answers with its notice (a success, say); a hall event right after makes the
    live stream re-read the panel, which carries no notice: the console puts the notice back
    with its words and its level (once it kept the words only, so the success lost its
    colour: seen in the enterprise journey when a walk-in arrived just after a downgrade)."""
    at = window(3)
    walk_ins("GENERAL")
    page = new_page()
    open_console(page, at)
    page.keyboard.press("F1")
    notice = page.get_by_test_id("console-notice")
    expect(notice).to_have_attribute("data-level", "success")
    called = notice.inner_text()

    walk_ins("GENERAL")  # an event for the hall: the stream re-reads the panel
    expect(page.get_by_test_id("preview-item")).to_have_count(1)
    expect(notice).to_have_text(called)
    expect(notice).to_have_attribute("data-level", "success")
    assert "success" in (notice.get_attribute("class") or "")
    assert same_document(page)
