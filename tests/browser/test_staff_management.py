"""Staff management in a real browser: a county administrator sees only its county's staff,
creates a clerk with a window, resets a password; the clerk must change it at the next login.
And the API docs page renders Swagger from the server's own files, asking no other host."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from tests.browser.helpers import record_offsite_requests, staff_login, wait_for_server_requests
from trafficdesk.accounts.models import Role, User
from trafficdesk.sites.models import ServicePoint, Window
from trafficdesk.staff import services

pytestmark = pytest.mark.browser

NM_POINT = "GY-QC-NM"


def _listed(page: Any) -> set[str]:
    rows = page.get_by_test_id("staff-row")
    return {rows.nth(i).get_attribute("data-username") for i in range(rows.count())}


def test_a_county_admin_manages_its_staff(
    page: Any, browser: Any, live_server: Any, demo: Any
) -> None:
    admin = User.objects.get(username="nanming_admin")
    services.create_staff(
        admin, "nm_aud", services.StaffDetails("周 九", Role.AUDITOR, admin.region)
    )
    offsite = record_offsite_requests(page.context, live_server.url)
    staff_login(page, "nanming_admin")
    page.get_by_test_id("role-nav").get_by_role("link", name="员工账户").click()
    page.get_by_test_id("staff-table").wait_for()
    assert _listed(page) == {"nanming_admin", "nm_aud"}

    # Create a window clerk of the Nanming point, serving at window 1.
    page.get_by_test_id("staff-new").click()
    page.get_by_label("用户名", exact=True).fill("nm_clerk")
    page.get_by_label("姓名", exact=True).fill("李 四")
    page.get_by_label("角色", exact=True).select_option(Role.CLERK)
    page.get_by_label("管辖区域", exact=True).select_option("520102")
    page.get_by_label("服务场所", exact=True).select_option(NM_POINT)
    window = Window.objects.get(service_point__code=NM_POINT, number=1)
    page.locator(f"input[name=windows][value='{window.pk}']").check()
    with page.expect_navigation():
        page.get_by_role("button", name="创建账户").click()
    first = page.get_by_test_id("temporary-password").inner_text().strip()
    made = User.objects.get(username="nm_clerk")
    assert made.role == Role.CLERK and list(made.windows.all()) == [window]
    assert made.service_point == ServicePoint.objects.get(code=NM_POINT)

    # Reset its password: a new one, shown once.
    page.goto(reverse("staff:edit", args=["nm_clerk"]))
    with page.expect_navigation():
        page.get_by_test_id("reset-password").click()
    temporary = page.get_by_test_id("temporary-password").inner_text().strip()
    assert temporary != first and len(temporary) >= 12
    assert not offsite, offsite

    # The clerk logs in with it and must change it before anything else.
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    clerk = context.new_page()
    clerk.set_default_timeout(10_000)
    clerk.goto(reverse("accounts:staff-login"))
    clerk.locator("#id_username").fill("nm_clerk")
    clerk.locator("#id_password").fill(temporary)
    with clerk.expect_navigation():
        clerk.locator("form:has(#id_password) button[type=submit]").click()
    clerk.get_by_test_id("must-change").wait_for()
    assert urlsplit(clerk.url).path == reverse("staff:password-change")
    clerk.goto(reverse("hallqueue:console"))
    assert urlsplit(clerk.url).path == reverse("staff:password-change")
    clerk.locator("#id_old_password").fill(temporary)
    clerk.locator("#id_new_password1").fill("Quiet-River-2046")
    clerk.locator("#id_new_password2").fill("Quiet-River-2046")
    with clerk.expect_navigation():
        clerk.get_by_role("button", name="修改密码").click()
    assert urlsplit(clerk.url).path == reverse("dashboard:home")
    made.refresh_from_db()
    assert not made.must_change_password
    context.close()
    wait_for_server_requests(live_server)


def test_the_api_docs_page_loads_swagger_from_this_server(
    page: Any, live_server: Any, demo: Any
) -> None:
    offsite = record_offsite_requests(page.context, live_server.url)
    assets: list[str] = []
    page.on("request", lambda request: assets.append(request.url))
    response = page.goto("/api/v1/docs", wait_until="load")
    assert response is not None and response.status == 200
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 20
    assert page.locator(".opblock-summary-path", has_text="/api/v1/accounts/staff").count() >= 1
    assert any("/static/ninja/swagger-ui-bundle" in url for url in assets), assets
    assert not offsite, offsite


def test_the_favicon_is_served(page: Any, live_server: Any, demo: Any) -> None:
    response = page.goto("/favicon.ico")
    assert response is not None and response.status == 200
    assert urlsplit(page.url).path.startswith("/static/")
    page.goto("/")
    icons = page.locator("link[rel=icon]")
    assert icons.count() >= 1
    for i in range(icons.count()):
        href = icons.nth(i).get_attribute("href")
        assert href.startswith("/static/"), href
        assert page.request.get(href).status == 200


def test_one_clerks_lockout_leaves_a_colleague_at_the_same_address_able_to_log_in(
    browser: Any, live_server: Any, demo: Any
) -> None:
    """Two PCs of one hall share an address (here both 127.0.0.1): five wrong passwords lock
    the clerk out, with the time to retry and whom to ask, and the hall manager still logs in."""
    locked = browser.new_context(locale="zh-CN", base_url=live_server.url)
    colleague = browser.new_context(locale="zh-CN", base_url=live_server.url)
    try:
        page = locked.new_page()
        for _attempt in range(settings.AXES_FAILURE_LIMIT):
            page.goto(reverse("accounts:staff-login"))
            page.locator("#id_username").fill("clerk")
            page.locator("#id_password").fill("not-the-password")
            with page.expect_navigation():
                page.locator("form:has(#id_password) button[type=submit]").click()
        page.get_by_test_id("locked-out").wait_for()
        retry = page.get_by_test_id("retry-at").inner_text()
        assert re.search(r"\d{2}:\d{2}", retry), retry
        assert "管理员" in page.locator("main").inner_text()
        staff_login(colleague.new_page(), "manager")
    finally:
        locked.close()
        colleague.close()
        wait_for_server_requests(live_server)
