"""Shared steps of the browser tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.urls import reverse

from trafficdesk.demo.services import DEMO_PASSWORD


def staff_login(page: Any, username: str) -> None:
    """Log a demo staff member in through the login form and land on the home page."""
    page.goto(reverse("accounts:staff-login"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    with page.expect_navigation() as nav:
        page.locator("form:has(#id_password) button[type=submit]").click()
    response = nav.value
    assert response is not None and response.status < 400
    assert urlsplit(page.url).path == reverse("dashboard:home"), page.url
    page.get_by_test_id("who").wait_for()


def wait_for_server_requests(live_server: Any, timeout: float = 3.0) -> None:
    """A request (a live panel's refresh, the board's event stream) may still be answered by
    the server when the browser contexts close; let it finish before the test's database is
    flushed."""
    live_server.wait_idle(timeout)


def is_offsite(url: str, base_url: str) -> bool:
    """A request to a host other than the server under test (a CDN, a font or map service):
    on a closed network the page would break. data: and blob: URLs ask no host."""
    parts = urlsplit(url)
    return (
        parts.scheme in {"http", "https", "ws", "wss"} and parts.netloc != urlsplit(base_url).netloc
    )


def record_offsite_requests(target: Any, base_url: str) -> list[str]:
    """The URLs of every request `target` (a page or a browser context) makes to another host
    from now on; the list fills as the browser goes."""
    found: list[str] = []

    def record(request: Any) -> None:
        if is_offsite(request.url, base_url):
            found.append(request.url)

    target.on("request", record)
    return found


def pair_kiosk(page: Any, point: str = "GY-HALL-01", name: str = "浏览器取号机") -> None:
    """Make this browser a registered kiosk of `point`, as on site: the hall's kiosk is
    registered (here by the system), and the kiosk screen opens its one-time pairing link and
    touches "pair"; the server sets the kiosk's HttpOnly cookie and opens the kiosk page."""
    from urllib.parse import urlencode

    from trafficdesk.accounts.access import SYSTEM
    from trafficdesk.hallqueue.kiosk_http import KIOSK_COOKIE
    from trafficdesk.hallqueue.services import register_kiosk
    from trafficdesk.sites.models import ServicePoint

    if any(c["name"] == KIOSK_COOKIE for c in page.context.cookies()):
        return  # paired already (one kiosk per browser)
    _device, code = register_kiosk(SYSTEM, ServicePoint.objects.get(code=point), name)
    page.goto(reverse("hallqueue:kiosk-pair", args=[point]) + "?" + urlencode({"code": code}))
    with page.expect_navigation():
        page.get_by_test_id("pair").click()
    assert urlsplit(page.url).path == reverse("hallqueue:kiosk", args=[point]), page.url
