"""Role navigation in a real browser: each role logs in and sees exactly its own menu, every
menu entry opens, citizens log in by SMS code, the language switch works, and a refusal says why.

Expected labels come from Django's translation machinery (zh-hans / en), never hard-coded, so
the tests hold whether or not the Chinese catalogue has been compiled yet."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.browser.helpers import staff_login
from trafficdesk.accounts.models import Role, User
from trafficdesk.accounts.roles import ROLE_NAV
from trafficdesk.demo.services import DEMO_CITIZEN_MOBILE

pytestmark = pytest.mark.browser

MASKED_CITIZEN_MOBILE = "138****8000"
Outbox = list[tuple[str, str]]
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
WRONG_CODE = "The code is wrong or has expired. Ask for a new one if needed."
NEEDS_ROLE = "Only %(roles)s can do this."


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def en(message: str) -> str:
    with translation.override("en"):
        return gettext(message)


def error_headings() -> set[str]:
    """Headings of the refusal and not-found pages, in both languages."""
    return {"Not allowed", "不允许", "Not found", zh("Not allowed"), zh("Not found"), "404"}


def expected_nav(role: str) -> list[tuple[str, str]]:
    with translation.override("zh-hans"):
        return [(str(item.label), reverse(item.url_name)) for item in ROLE_NAV[role]]


def shown_nav(page: Any) -> list[tuple[str, str]]:
    links = page.get_by_test_id("role-nav").locator("a")
    return [
        (links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href"))
        for i in range(links.count())
    ]


def assert_not_an_error_page(page: Any) -> None:
    headings = {h.strip() for h in page.locator("h1").all_inner_texts()}
    assert not headings & error_headings(), f"{page.url} shows {headings}"


@pytest.mark.parametrize("username", ["clerk", "manager", "gz_admin", "officer", "auditor"])
def test_staff_role_sees_exactly_its_navigation(page: Any, demo: Any, username: str) -> None:
    role = User.objects.get(username=username).role
    expected = expected_nav(role)

    staff_login(page, username)

    nav = page.get_by_test_id("role-nav")
    assert nav.get_attribute("data-role") == role
    assert shown_nav(page) == expected

    for index, (label, href) in enumerate(expected):
        page.goto(reverse("dashboard:home"))
        link = page.get_by_test_id("role-nav").locator("a").nth(index)
        assert link.inner_text().strip() == label
        with page.expect_navigation() as nav_info:
            link.click()
        response = nav_info.value
        assert response is not None, f"{label} ({href}) did not answer"
        assert response.status < 400, f"{label} ({href}) answered {response.status}"
        assert urlsplit(page.url).path == href, f"{label} went to {page.url}, not {href}"
        assert_not_an_error_page(page)


def request_code(page: Any, sms_outbox: Outbox) -> str:
    page.goto(reverse("accounts:citizen-login"))
    page.locator("#id_mobile").fill(DEMO_CITIZEN_MOBILE)
    with page.expect_navigation() as nav:
        page.locator("form:has(#id_mobile) button[type=submit]").click()
    assert nav.value is not None and nav.value.status == 200
    page.locator("#id_code").wait_for()
    to_citizen = [text for phone, text in sms_outbox if phone == DEMO_CITIZEN_MOBILE]
    assert to_citizen, f"no SMS to the citizen in {sms_outbox!r}"
    match = CODE_RE.search(to_citizen[-1])
    assert match, to_citizen[-1]
    return match.group(1)


def test_citizen_logs_in_with_sms_code(page: Any, demo: Any, sms_outbox: Outbox) -> None:
    code = request_code(page, sms_outbox)
    # The code page confirms where the code went, masked.
    code_page_text = page.locator("body").inner_text()
    assert MASKED_CITIZEN_MOBILE in code_page_text
    assert DEMO_CITIZEN_MOBILE not in code_page_text

    page.locator("#id_code").fill(code)
    with page.expect_navigation(url=re.compile(re.escape(reverse("accounts:me")) + r"$")) as nav:
        page.locator("form:has(#id_code) button[type=submit]").click()
    assert nav.value is not None and nav.value.status == 200

    nav_bar = page.get_by_test_id("role-nav")
    assert nav_bar.get_attribute("data-role") == Role.CITIZEN
    assert shown_nav(page) == expected_nav(Role.CITIZEN)
    with translation.override("zh-hans"):
        citizen_label = str(Role.CITIZEN.label)
    assert page.get_by_test_id("role").inner_text().strip() == citizen_label
    assert MASKED_CITIZEN_MOBILE in page.get_by_test_id("who").inner_text()
    assert MASKED_CITIZEN_MOBILE in page.locator("main").inner_text()
    assert DEMO_CITIZEN_MOBILE not in page.content()


def test_wrong_citizen_code_is_refused(page: Any, demo: Any, sms_outbox: Outbox) -> None:
    code = request_code(page, sms_outbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    page.locator("#id_code").fill(wrong)
    with page.expect_navigation() as nav:
        page.locator("form:has(#id_code) button[type=submit]").click()
    assert nav.value is not None and nav.value.status == 400

    alert = page.get_by_role("alert")
    assert alert.inner_text().strip() == zh(WRONG_CODE)
    assert page.get_by_test_id("role-nav").count() == 0
    assert page.get_by_test_id("who").count() == 0
    assert not User.objects.filter(mobile=DEMO_CITIZEN_MOBILE, last_login__isnull=False).exists()

    # Still anonymous: the account page sends us to a login page.
    page.goto(reverse("accounts:me"))
    assert reverse("accounts:me") not in page.url.split("?")[0]
    assert page.get_by_test_id("role-nav").count() == 0


def test_language_switch_to_english_and_back(page: Any, demo: Any) -> None:
    login_url = reverse("accounts:staff-login")
    page.goto(login_url)
    heading = page.locator("main h1")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert heading.inner_text().strip() == zh("Staff login")

    select = page.locator("form.lang select[name=language]")
    with page.expect_navigation():
        select.select_option("en")
    assert urlsplit(page.url).path == login_url
    assert page.locator("html").get_attribute("lang") == "en"
    assert heading.inner_text().strip() == en("Staff login") == "Staff login"
    assert select.input_value() == "en"

    # The choice sticks for the next page.
    page.goto(reverse("accounts:citizen-login"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("main h1").inner_text().strip() == "Citizen login"

    with page.expect_navigation():
        page.locator("form.lang select[name=language]").select_option("zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("main h1").inner_text().strip() == zh("Citizen login")
    assert page.locator("form.lang select[name=language]").input_value() == "zh-hans"


def test_clerk_is_refused_the_audit_log_with_a_reason(page: Any, demo: Any) -> None:
    staff_login(page, "clerk")
    response = page.goto(reverse("audit:log"))
    assert response is not None and response.status == 403
    assert page.locator("main h1").inner_text().strip() == zh("Not allowed")
    reason = page.get_by_test_id("reason").inner_text().strip()
    assert reason
    assert reason != zh("You may not see this page.")
    # The reason names the role by its label, never by its code.
    with translation.override("zh-hans"):
        auditor = str(Role.AUDITOR.label)
    assert reason == zh(NEEDS_ROLE) % {"roles": auditor}, reason
    assert Role.AUDITOR.value not in reason
    # The refusal page keeps the clerk's own navigation.
    assert page.get_by_test_id("role-nav").get_attribute("data-role") == Role.CLERK
