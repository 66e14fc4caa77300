"""Checkpoint registration for all of China, on a 390×844 phone at Guiyang North toll station.

An out-of-province driver (a 京 plate, from 北京市 朝阳区) picks the plate's province, is offered
北京市 as origin, chooses the district (a municipality has no city step), gets a receipt in
Chinese and is flagged on the officer's console; a driver from Hebei goes province → city →
county after typing the plate whole; the traveller page shows no site navigation and no staff
link, only a language switch; the English page reads in English; bad answers come back with
the reason and every answer kept; without JavaScript the chooser goes step by step.

Flag texts, validator messages and names come from the app's own rules, validators and data,
never hard-coded here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.helpers import staff_login, wait_for_server_requests
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.checkpoint.rules import flags
from trafficdesk.core.validators import InvalidValue, mask_plate, mask_resident_id, parse_plate
from trafficdesk.regions.models import Region

pytestmark = pytest.mark.browser

TOLL = "GY-N-TOLL"
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
DRIVER = {
    "name": "王建国",
    "id_number": "11010519491231002X",
    "mobile": "13912345678",
    "destination": "贵阳市观山湖区",
    "passengers": "1",
}


@pytest.fixture
def new_context(
    browser: Any, live_server: Any, transactional_db: Any
) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def make(locale: str = "zh-CN", **options: Any) -> Any:
        context = browser.new_context(locale=locale, base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    wait_for_server_requests(live_server)


@pytest.fixture
def toll(demo: Any) -> Checkpoint:
    return Checkpoint.objects.select_related("region").get(code=TOLL)


def assert_no_horizontal_scroll(page: Any) -> None:
    width, inner = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert width <= inner + 1, f"{page.url} scrolls sideways: {width}px in {inner}px"


def name_of(code: str) -> str:
    return Region.objects.get(code=code).name_zh


def flag_text(checkpoint: Checkpoint, plate: str, origin: str) -> str:
    reasons = flags(
        plate_province_code=parse_plate(plate).province_code,
        origin_code=origin,
        origin_risk=None,
        home_province=checkpoint.region.code,
    )
    return "；".join(zh for _code, zh, _en in reasons)


def open_form(context: Any) -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    response = page.goto(reverse("register", args=[TOLL]))
    assert response is not None and response.status == 200
    return page


def fill_person(page: Any, values: dict[str, str]) -> None:
    form = page.get_by_test_id("register-form")
    for field in ("name", "id_number", "mobile", "destination", "passengers"):
        form.locator(f"#{field}").fill(values[field])


#: No htmx request in flight or swap pending (htmx marks the requesting element meanwhile).
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"


def choose(page: Any, select_id: str, code: str) -> None:
    """Choose `code` once the chooser offers it (each choice re-reads the chooser)."""
    option = page.locator(f"#{select_id} option[value='{code}']")
    expect(option).to_have_count(1, timeout=15_000)  # a loaded machine answers slowly
    # The chooser that came back is in the page before htmx has bound its triggers (until it
    # settles): a choice made in between sends nothing. A person is never that quick.
    page.wait_for_function(SETTLED)
    if page.locator(f"#{select_id}").input_value() == code:
        return  # suggested from the plate: a traveller leaves it as it is
    page.locator(f"#{select_id}").select_option(code)
    page.wait_for_function(SETTLED)  # the next choice is made on what came back
    expect(page.locator(f"#{select_id}")).to_have_value(code)


def assert_accessible_and_chinese(page: Any) -> None:
    """The page states the site-wide crawl does not reach (the chooser filled in, the errors):
    no serious or critical axe-core violation and no visible Latin words outside the
    allow-list, by the crawl's own rules (tests/browser/test_every_page.py)."""
    from tests.browser import test_every_page as crawl

    offenders = crawl.latin_offenders(page.evaluate(crawl.VISIBLE_TEXT_JS), crawl.vocabulary())
    assert not offenders, offenders
    if crawl.AXE.exists():
        crawl.inject_axe(page)
        violations = page.evaluate(crawl.AXE_JS)
        assert not violations, violations


def submit(page: Any) -> Any:
    with page.expect_navigation() as nav:
        page.get_by_test_id("register-submit").click()
    return nav.value


def test_a_beijing_driver_registers_and_the_officer_sees_the_flag(
    new_context: Callable[..., Any], toll: Checkpoint
) -> None:
    page = open_form(new_context(**PHONE))
    assert page.evaluate("() => innerWidth") == 390
    # A bare page: no site navigation, no staff or citizen login; a language switch.
    assert page.get_by_test_id("public-nav").count() == 0
    assert page.get_by_test_id("role-nav").count() == 0
    assert page.locator(f"a[href='{reverse('accounts:staff-login')}']").count() == 0
    assert page.locator(f"a[href='{reverse('accounts:citizen-login')}']").count() == 0
    expect(page.get_by_test_id("language-switch").get_by_role("button")).to_have_text("English")
    expect(page.locator("h1")).to_contain_text("出行登记")
    assert_no_horizontal_scroll(page)

    fill_person(page, DRIVER)
    page.locator("#plate_prefix").select_option("京")
    page.locator("#plate").fill("A12345")
    # The plate's province is suggested as the origin; 北京 has districts, no city step.
    expect(page.get_by_test_id("origin-suggested")).to_contain_text(name_of("110000"))
    expect(page.locator("#origin_province")).to_have_value("110000")
    assert page.locator("#origin_city").count() == 0
    choose(page, "origin", "110105")
    expect(page.locator("#origin option:checked")).to_have_text(name_of("110105"))
    # With JavaScript the chooser's no-JS step button is never there (Enter registers).
    expect(page.get_by_test_id("register-form").locator("button[type=submit]")).to_have_count(1)
    assert_no_horizontal_scroll(page)

    response = submit(page)
    assert response is not None and response.status == 200
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_contain_text("登记成功")
    expect(page.get_by_test_id("receipt-origin")).to_have_text(
        name_of("110000") + name_of("110105")
    )
    expect(page.get_by_test_id("flags")).to_have_text(flag_text(toll, "京A12345", "110105"))
    assert mask_plate("京A12345") in receipt.inner_text()
    assert mask_resident_id(DRIVER["id_number"]) in receipt.inner_text()
    html = page.content()
    for secret in (DRIVER["id_number"], DRIVER["mobile"], DRIVER["name"], "京A12345"):
        assert secret not in html
    assert page.get_by_test_id("public-nav").count() == 0
    assert_no_horizontal_scroll(page)
    assert not page.errors, page.errors

    registration = Registration.objects.get()
    assert registration.origin.code == "110105" and registration.out_of_province

    officer = new_context(**PHONE).new_page()
    staff_login(officer, "officer")
    officer.goto(reverse("checkpoint:console", args=[TOLL]))
    row = officer.get_by_test_id("arrivals").locator("tbody tr[data-flagged='1']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(mask_plate("京A12345"))
    expect(row).to_contain_text(name_of("110000") + name_of("110105"))
    expect(row.get_by_test_id("arrival-flags")).to_contain_text(
        flag_text(toll, "京A12345", "110105")
    )
    assert_no_horizontal_scroll(officer)


def test_a_plate_typed_whole_suggests_its_province_then_city_then_county(
    new_context: Callable[..., Any], toll: Checkpoint
) -> None:
    page = open_form(new_context(**PHONE))
    fill_person(page, DRIVER)
    page.locator("#plate").fill("冀A12345")
    page.locator("#plate").press("Tab")
    # The abbreviation moves into the picker, the rest stays; 河北省 is suggested.
    expect(page.locator("#plate_prefix")).to_have_value("冀")
    expect(page.locator("#plate")).to_have_value("A12345")
    expect(page.locator("#origin_province")).to_have_value("130000")
    choose(page, "origin_city", "130100")
    choose(page, "origin", "130102")
    assert_no_horizontal_scroll(page)
    assert_accessible_and_chinese(page)
    response = submit(page)
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("receipt-origin")).to_have_text(
        name_of("130000") + name_of("130100") + name_of("130102")
    )
    assert Registration.objects.get().plate == "冀A12345"
    assert not page.errors, page.errors


def test_bad_answers_come_back_with_the_reason_and_nothing_lost(
    new_context: Callable[..., Any], toll: Checkpoint
) -> None:
    page = open_form(new_context(**PHONE))
    fill_person(page, dict(DRIVER, id_number="110105194912310021"))  # wrong check character
    page.locator("#plate_prefix").select_option("京")
    page.locator("#plate").fill("A1")
    expect(page.locator("#origin_province")).to_have_value("110000")
    choose(page, "origin", "110105")
    response = submit(page)
    assert response is not None and response.status == 422

    with pytest.raises(InvalidValue) as bad_plate:
        parse_plate("京A1")
    shown = page.locator("[data-field='plate']")
    expect(shown).to_have_text(bad_plate.value.message_zh)
    expect(page.locator("[data-field='id_number']")).to_have_attribute("data-code", "id.checksum")
    expect(page.get_by_test_id("form-problem")).to_be_visible()
    assert page.locator("p.error[data-field]").count() == 2
    # Every answer is kept, the origin too.
    for field in ("name", "mobile", "destination"):
        expect(page.locator(f"#{field}")).to_have_value(DRIVER[field])
    expect(page.locator("#id_number")).to_have_value("110105194912310021")
    expect(page.locator("#plate_prefix")).to_have_value("京")
    expect(page.locator("#plate")).to_have_value("A1")
    expect(page.locator("#origin_province")).to_have_value("110000")
    expect(page.locator("#origin")).to_have_value("110105")
    assert Registration.objects.count() == 0
    assert_no_horizontal_scroll(page)
    assert_accessible_and_chinese(page)

    # Corrected, it goes through.
    page.locator("#id_number").fill(DRIVER["id_number"])
    page.locator("#plate").fill("A12345")
    response = submit(page)
    assert response is not None and response.status == 200
    page.get_by_test_id("receipt").wait_for()
    assert Registration.objects.count() == 1


def test_the_page_in_english(new_context: Callable[..., Any], toll: Checkpoint) -> None:
    page = open_form(new_context(**PHONE))
    with page.expect_navigation():
        page.get_by_test_id("language-switch").get_by_role("button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_contain_text("Traveller registration")
    expect(page.locator("h1")).to_contain_text("Guiyang North toll station")
    expect(page.locator("label[for=origin_province]")).to_have_text("Province")
    expect(page.get_by_test_id("language-switch").get_by_role("button")).to_have_text("简体中文")
    assert_no_horizontal_scroll(page)

    fill_person(page, DRIVER)
    page.locator("#plate_prefix").select_option("京")
    page.locator("#plate").fill("A12345")
    expect(page.get_by_test_id("origin-suggested")).to_contain_text("Suggested from your plate")
    choose(page, "origin", "110105")
    response = submit(page)
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("receipt")).to_contain_text("Registered")
    expect(page.get_by_test_id("flags")).to_have_text(
        "vehicle registered in another province; coming from another province"
    )
    assert_no_horizontal_scroll(page)

    # The officer's pages in English, on a phone too.
    officer = new_context(locale="en-GB", **PHONE).new_page()
    staff_login(officer, "officer")
    officer.goto(reverse("checkpoint:console", args=[TOLL]))
    row = officer.get_by_test_id("arrivals").locator("tbody tr[data-flagged='1']")
    expect(row.get_by_test_id("arrival-flags")).to_have_text(
        "vehicle registered in another province; coming from another province"
    )
    expect(officer.locator("h1")).to_contain_text("Arrivals")
    assert_no_horizontal_scroll(officer)
    officer.goto(reverse("checkpoint:list"))
    expect(officer.get_by_test_id("checkpoints")).to_contain_text("toll station")
    assert_no_horizontal_scroll(officer)


def test_without_javascript_the_chooser_goes_step_by_step(
    new_context: Callable[..., Any], toll: Checkpoint
) -> None:
    page = open_form(new_context(java_script_enabled=False, **PHONE))
    fill_person(page, DRIVER)
    page.locator("#plate_prefix").select_option("冀")
    page.locator("#plate").fill("A12345")
    next_step = page.get_by_test_id("origin-next-step")
    expect(next_step).to_be_visible()
    with page.expect_navigation():
        next_step.click()
    expect(page.locator("#origin_province")).to_have_value("130000")  # from the plate
    page.locator("#origin_city").select_option("130100")
    with page.expect_navigation():
        page.get_by_test_id("origin-next-step").click()
    page.locator("#origin").select_option("130102")
    for field in ("name", "id_number", "mobile", "destination"):
        expect(page.locator(f"#{field}")).to_have_value(DRIVER[field])
    response = submit(page)
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("receipt-origin")).to_have_text(
        name_of("130000") + name_of("130100") + name_of("130102")
    )
    assert_no_horizontal_scroll(page)
