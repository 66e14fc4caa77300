"""The hall's call display on a 1920×1080 TV, in a real browser: a call made through the hall
services goes large with a highlight within a second; a recall is marked 重呼 on the ticket's
row instead of adding one; four windows calling within seconds are all on screen, large, and
announced one after another; the window tiles and the waiting counts follow the queue; the
notice line follows the hall manager; and the sound — a chime, then the call in Chinese and
English — plays where the browser allows it, and a "开启声音" button unlocks it where not.

Demo facts (looked up, not assumed where it matters): GY-HALL-01's windows 3 and 4 are normal
windows serving P01, window 5 serves registrations, window 7 licences; "clerk" and "manager"
work there."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS
from tests.browser.helpers import wait_for_server_requests
from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import services as hall
from trafficdesk.hallqueue.models import Ticket
from trafficdesk.hallqueue.rules import call_speech_en, call_speech_zh
from trafficdesk.sites.models import ServicePoint, Window
from trafficdesk.sites.services import set_board_notice, set_window_open

pytestmark = pytest.mark.browser

HALL = "GY-HALL-01"
TV = {"width": 1920, "height": 1080}
TIMEOUT_MS = 10_000
NEW = re.compile(r"\bis-new\b")  # the highlight of a call just made


@pytest.fixture
def tv(browser: Any, live_server: Any) -> Iterator[Any]:
    """Opens the board on a 1920×1080 screen (a browser that blocks sound until a tap)."""
    contexts: list[Any] = []

    def make(on: Any = browser) -> Any:
        context = on.new_context(locale="zh-CN", base_url=live_server.url, viewport=TV)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(reverse("hallqueue:board", args=[HALL]))
        page.wait_for_function("() => window.boardReady === true", timeout=TIMEOUT_MS)
        return page

    yield make
    for context in contexts:
        context.close()
    wait_for_server_requests(live_server)


@pytest.fixture
def kiosk_browser(browser: Any) -> Iterator[Any]:
    """Chromium started as the hall's TV is (docs/hall-display.md): sound without a tap."""
    started = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[*LAUNCH_ARGS, "--autoplay-policy=no-user-gesture-required"],
    )
    yield started
    started.close()


def point() -> ServicePoint:
    return ServicePoint.objects.select_related("region").get(code=HALL)


def window(number: int) -> Window:
    return Window.objects.select_related("service_point__region").get(
        service_point__code=HALL, number=number
    )


def business(code: str) -> Business:
    return Business.objects.select_related("category").get(code=code)


def clerk() -> User:
    return User.objects.get(username="clerk")


def call_at(number: int, code: str = "P01") -> Ticket:
    """A walk-in for the business, called at the window by the clerk."""
    hall.walk_in(point(), business(code))
    called = hall.call_next(clerk(), window(number))
    assert called is not None, (number, code)
    return called


def test_a_call_goes_large_with_a_highlight_within_a_second(tv: Any, demo: Any) -> None:
    board = tv()
    started = time.monotonic()
    ticket = call_at(3)
    now = board.get_by_test_id("now")
    expect(now).to_contain_text(f"{ticket.label} → 3", timeout=1000)
    expect(now).to_have_class(NEW, timeout=200)
    assert time.monotonic() - started < 1.5
    expect(now).to_contain_text(f"请 {ticket.label} 号到 3 号窗口办理")
    expect(board.get_by_test_id("recent").locator("li").first).to_have_text(f"{ticket.label} → 3")
    # Large on the TV: the number at least 120 px high, the call panel a good part of the screen.
    size = board.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('.now-label')).fontSize)"
    )
    assert size >= 120, size
    box = now.bounding_box()
    assert box is not None and box["width"] >= 900 and box["height"] >= 250, box
    assert board.evaluate("() => document.documentElement.scrollWidth") <= TV["width"]
    # The window's tile serves it at once; the spoken sentence is the hall's.
    expect(board.locator('[data-window="3"]')).to_have_attribute("data-serving", ticket.label)
    assert board.evaluate("() => window.lastSpoken") == f"请 {ticket.label} 号到 3 号窗口办理"
    entry = board.evaluate("() => window.boardAnnouncements[0]")
    assert entry["spoken"] == call_speech_zh(ticket.label, 3)
    assert entry["spoken"].startswith("请 " + " ".join(ticket.label[:1]))


def test_a_recall_is_marked_on_its_row_not_repeated(tv: Any, demo: Any) -> None:
    board = tv()
    first = call_at(3)
    second = call_at(4)
    recent = board.get_by_test_id("recent").locator("li")
    expect(recent).to_have_text([f"{second.label} → 4", f"{first.label} → 3"])

    hall.recall(clerk(), hall.ticket_for_staff(first.pk) or first)

    expect(recent).to_have_text([f"{first.label} → 3 重呼", f"{second.label} → 4"])
    now = board.get_by_test_id("now")
    expect(now).to_contain_text(f"{first.label} → 3")
    expect(now.get_by_test_id("recall")).to_have_text("重呼")
    expect(now).to_have_class(NEW)
    # The ticket is nowhere twice: not in the large cards beside the current call either.
    assert board.locator(f'#latest li[data-label="{first.label}"]').count() == 0
    expect(board.locator(f'#latest li[data-label="{second.label}"]')).to_have_count(1)
    flags = board.evaluate("() => window.boardAnnouncements.map(a => [a.label, a.recall])")
    assert flags == [[first.label, False], [second.label, False], [first.label, True]]

    # A reload shows the same: one row, marked.
    board.reload()
    expect(recent).to_have_text([f"{first.label} → 3 重呼", f"{second.label} → 4"])
    # and the next call moves the rendered one aside, still marked
    board.wait_for_function("() => window.boardReady === true")
    third = call_at(5, "R01")
    expect(board.get_by_test_id("now")).to_contain_text(f"{third.label} → 5")
    expect(board.locator("#latest li").first).to_have_text(f"{first.label} → 3 重呼")


def test_four_windows_calling_within_seconds_are_all_on_screen(tv: Any, demo: Any) -> None:
    board = tv()
    calls = [call_at(3), call_at(4), call_at(5, "R01"), call_at(7, "L01")]
    labels = [t.label for t in calls]
    assert len(set(labels)) == 4
    expect(board.get_by_test_id("now")).to_contain_text(f"{labels[-1]} → 7")
    for ticket, number in zip(calls, (3, 4, 5, 7), strict=True):
        shown = board.locator(
            f'#now[data-label="{ticket.label}"], #latest li[data-label="{ticket.label}"]'
        )
        expect(shown).to_be_visible()
        height = shown.evaluate("n => n.getBoundingClientRect().height")
        assert height >= 60, (ticket.label, height)
        expect(board.locator(f'[data-window="{number}"]')).to_have_attribute(
            "data-serving", ticket.label
        )
    # Announced one at a time, in the order called: each gets its turn.
    board.wait_for_function(
        "() => window.boardAnnouncements.length === 4"
        " && window.boardAnnouncements.every(a => a.state === 'done')",
        timeout=20_000,
    )
    announced = board.evaluate("() => window.boardAnnouncements.map(a => a.label)")
    assert announced == labels


def test_the_window_grid_and_the_waiting_counts_follow_the_queue(tv: Any, demo: Any) -> None:
    board = tv()
    manager = User.objects.get(username="manager")
    for number in Window.objects.filter(service_point__code=HALL, is_open=False).values_list(
        "number", flat=True
    ):
        tile = board.locator(f'[data-window="{number}"]')
        expect(tile).to_have_attribute("data-open", "0")
        expect(tile).to_contain_text("暂停服务")
    expect(board.locator('[data-window="4"]')).to_contain_text("空闲")

    ticket = hall.walk_in(point(), business("P01"))
    group = board.locator(f'#groups li[data-prefix="{ticket.prefix}"]')
    expect(group).to_have_attribute("data-waiting", "1")
    expect(group).to_contain_text(business("P01").category.name_zh)
    expect(group).to_contain_text("等候 1 人")

    called = hall.call_next(clerk(), window(4))
    assert called is not None and called.pk == ticket.pk
    expect(group).to_have_attribute("data-waiting", "0")
    expect(group).to_contain_text(f"已叫到 {ticket.label}")
    expect(board.locator('[data-window="4"]')).to_contain_text(ticket.label)

    set_window_open(manager, window(9), False)
    expect(board.locator('[data-window="9"]')).to_contain_text("暂停服务")


def test_the_notice_line_follows_the_hall_manager(tv: Any, demo: Any) -> None:
    board = tv()
    notice = board.get_by_test_id("notice")
    expect(notice).to_be_hidden()
    set_board_notice(
        User.objects.get(username="manager"), point(), "午间 12:00 至 13:30 暂停取号", False
    )
    expect(notice).to_be_visible()
    expect(board.get_by_test_id("notice-text")).to_have_text("午间 12:00 至 13:30 暂停取号")
    assert (
        board.evaluate(
            "() => getComputedStyle(document.getElementById('notice-text')).animationName"
        )
        == "marquee"
    )
    set_board_notice(User.objects.get(username="manager"), point(), "", False)
    expect(notice).to_be_hidden()


def test_blocked_sound_shows_a_turn_on_button_that_one_tap_hides(tv: Any, demo: Any) -> None:
    """Headless Chromium without --autoplay-policy keeps sound off until a gesture."""
    board = tv()
    button = board.get_by_test_id("sound-on")
    expect(button).to_be_visible()
    expect(button).to_have_text("开启声音")
    assert board.evaluate("() => document.body.dataset.audio") == "blocked"
    ticket = call_at(3)
    board.wait_for_function("() => window.boardAnnouncements.length === 1")
    board.wait_for_function("() => window.boardAnnouncements[0].chime !== 'pending'")
    assert board.evaluate("() => window.boardAnnouncements[0].chime") == "blocked"
    assert board.evaluate("() => window.boardAnnouncements[0].label") == ticket.label

    button.click()
    expect(button).to_be_hidden()
    assert board.evaluate("() => document.body.dataset.audio") == "ready"


def test_with_autoplay_allowed_the_chime_then_the_voice_play(
    kiosk_browser: Any, tv: Any, demo: Any
) -> None:
    ServicePoint.objects.filter(code=HALL).update(board_speaks_english=True)
    board = tv(kiosk_browser)
    expect(board.get_by_test_id("sound-on")).to_be_hidden()
    assert board.evaluate("() => document.body.dataset.audio") == "ready"
    requested: list[str] = []
    board.on("request", lambda request: requested.append(request.url))

    ticket = call_at(3)
    board.wait_for_function(
        "() => window.boardAnnouncements.length === 1"
        " && window.boardAnnouncements[0].state === 'done'",
        timeout=20_000,
    )
    entry = board.evaluate("() => window.boardAnnouncements[0]")
    assert entry["text"] == f"请 {ticket.label} 号到 3 号窗口办理"
    assert entry["spoken"] == call_speech_zh(ticket.label, 3)
    assert entry["english"] == call_speech_en(ticket.label, 3)
    assert entry["chime"] == "played", entry
    assert any(url.endswith("/hallqueue/sounds/chime.ogg") for url in requested), requested
    assert entry["voice"] in ("speech", "clips"), entry
    assert entry["voiceEn"] in ("speech", "clips"), entry
    if entry["voice"] == "clips":  # no Chinese voice in this browser: the recorded words
        letter = ticket.label[0].lower()
        assert entry["clips"][:2] == ["zh-qing", f"letter-{letter}"], entry
        assert entry["clips"][-1] == "en-3" and "en-please-go-to-window" in entry["clips"]
        assert any(url.endswith("/sounds/zh-hao-chuangkou.ogg") for url in requested)
