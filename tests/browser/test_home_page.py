"""The home page starts the citizen's journeys, like the 交管12123 home: six big tiles on a
phone (预约办理, 网上办理, 我的预约, 我的申请, 开放查询, 卡口登记), the checkpoints a driver
registers at by scanning their QR code, and, for staff, their role's work below."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.browser.helpers import staff_login
from trafficdesk.accounts.roles import MY_ACCOUNT, ROLE_NAV
from trafficdesk.dashboard.journeys import SERVICES

pytestmark = pytest.mark.browser

#: What a citizen reads on the tiles, in the order of the 12123 home.
TILES_ZH = ["预约办理", "网上办理", "我的预约", "我的申请", "开放查询", "卡口登记"]
TILE_HREFS = [
    reverse("booking:choose"),
    reverse("online:catalogue"),
    reverse("booking:mine"),
    reverse("online:mine"),
    reverse("policy:open"),
    reverse("dashboard:home") + "#checkpoint-registration",
]
MIN_TARGET_PX = 44  # WCAG 2.5.5: a touch target at least 44 × 44 CSS pixels


def tiles(page: Any) -> list[tuple[str, str, dict[str, float]]]:
    links = page.get_by_test_id("services").locator("a")
    return [
        (
            links.nth(i).locator("strong").inner_text().strip(),
            links.nth(i).get_attribute("href"),
            links.nth(i).bounding_box(),
        )
        for i in range(links.count())
    ]


def test_a_phone_shows_six_big_service_tiles_in_chinese(phone: Any, demo: Any) -> None:
    phone.goto(reverse("dashboard:home"))
    shown = tiles(phone)
    assert [label for label, _h, _b in shown] == TILES_ZH
    assert [href for _l, href, _b in shown] == TILE_HREFS
    for label, _href, box in shown:
        assert box["width"] >= MIN_TARGET_PX and box["height"] >= MIN_TARGET_PX, (label, box)
    # Two tiles a row on a 390 px phone, and nothing wider than the screen.
    assert shown[0][2]["y"] == shown[1][2]["y"] and shown[2][2]["y"] > shown[0][2]["y"]
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the home page is {width}px wide"
    # The icons are drawn inline: no image is fetched for them.
    assert phone.get_by_test_id("services").locator("svg").count() == len(TILES_ZH)
    assert phone.get_by_test_id("services").locator("img").count() == 0
    assert phone.get_by_test_id("staff-work").count() == 0


def test_checkpoint_tile_explains_the_qr_and_lists_the_checkpoints(phone: Any, demo: Any) -> None:
    phone.goto(reverse("dashboard:home"))
    phone.get_by_test_id("service-qr").click()
    section = phone.get_by_test_id("checkpoint-registration")
    assert urlsplit(phone.url).fragment == "checkpoint-registration"
    assert "扫描" in section.inner_text() and "二维码" in section.inner_text()
    link = section.get_by_test_id("checkpoint-links").get_by_role("link", name="贵阳北收费站")
    assert link.get_attribute("href") == reverse("register", args=["GY-N-TOLL"])
    with phone.expect_navigation():
        link.click()
    assert urlsplit(phone.url).path == reverse("register", args=["GY-N-TOLL"])


def test_a_tile_starts_the_journey(phone: Any, demo: Any) -> None:
    """Booking needs a login: the tile leads to the SMS login, which then leads back."""
    phone.goto(reverse("dashboard:home"))
    with phone.expect_navigation():
        phone.get_by_test_id("service-search").click()
    assert urlsplit(phone.url).path == reverse("policy:open")
    phone.goto(reverse("dashboard:home"))
    with phone.expect_navigation():
        phone.get_by_test_id("service-calendar").click()
    assert urlsplit(phone.url).path in {
        reverse("booking:choose"),
        reverse("accounts:citizen-login"),
    }


def test_staff_see_their_work_below_the_services(page: Any, demo: Any) -> None:
    staff_login(page, "clerk")
    work = page.get_by_test_id("staff-work")
    with translation.override("zh-hans"):
        expected = [str(item.label) for item in ROLE_NAV["clerk"] if item is not MY_ACCOUNT]
    assert [t.strip() for t in work.locator("a").all_inner_texts()] == expected
    assert tiles(page), "the services are still there for staff"


def test_the_tiles_speak_english_on_request(browser: Any, live_server: Any, demo: Any) -> None:
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto(reverse("dashboard:home"))
        with translation.override("en"):
            expected = [gettext(str(s.label)) for s in SERVICES]
        assert [label for label, _h, _b in tiles(page)] == expected
        assert expected[0] == "Book an appointment"
    finally:
        context.close()
