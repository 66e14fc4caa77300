"""Checkpoint registration and the regional dashboard in a real browser.

A traveller registers on a phone at Guiyang North toll station (GY-N-TOLL) without logging in
and gets a masked receipt, flagged when the plate or the origin calls for a follow-up; a wrong
ID number is refused, every answer is kept and nothing is stored; the officer's console shows flagged arrivals and
refreshes itself as arrivals register (a server-sent event per arrival), searches by plate and exports a masked Excel sheet; the QR
code that leads to the form is a PNG; the provincial administrator's dashboard draws its six
charts and exports to Excel.

The scenario rests on demo facts only: 南明区 (520102) is MEDIUM, GY-N-TOLL lies in Guizhou
(52), the officer "officer" works in Guiyang (520100) and "gz_admin" for the province.
Flag texts and error messages come from the app's own rules and validators, never hard-coded."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import expect

from tests.browser.helpers import staff_login, wait_for_server_requests
from trafficdesk.checkpoint import services
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.checkpoint.rules import flags
from trafficdesk.core.validators import (
    InvalidValue,
    id_check_char,
    mask_plate,
    mask_resident_id,
    parse_plate,
    parse_resident_id,
)
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import current_levels

pytestmark = pytest.mark.browser

TOLL = "GY-N-TOLL"
NANMING = "520102"  # 南明区: MEDIUM in the demo
GUANSHANHU = "520115"  # 观山湖区: LOW in the demo
TIMEOUT_MS = 10_000
LIVE_WAIT_MS = 5_000  # an arrival reaches the console in well under a second
PHONE_WIDTH, PHONE_HEIGHT = 390, 844
PHONE: dict[str, Any] = {
    "viewport": {"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}

TRAVELLER = {
    "name": "张三丰",
    "id_number": "11010519491231002X",
    "mobile": "13912345678",
    "plate": "京A12345",
    "origin": NANMING,
    "destination": "贵阳市观山湖区",
    "passengers": "2",
}
BAD_ID = "110105194912310021"  # TRAVELLER's ID with a wrong check character
CHARTS = ("risk", "points", "bookings", "queues", "online", "arrivals")
CHART_IDS = tuple(f"chart-{name}" for name in CHARTS)


def resident_id(county: str, born: str, serial: str) -> str:
    first17 = f"{county}{born}{serial}"
    return first17 + id_check_char(first17)


@pytest.fixture
def new_context(
    browser: Any, live_server: Any, transactional_db: Any
) -> Iterator[Callable[..., Any]]:
    """Fresh browser contexts (own cookies: traveller's phone, officer, administrator)."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(locale="zh-CN", base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    wait_for_server_requests(live_server)


@pytest.fixture
def toll(demo: Any) -> Checkpoint:
    checkpoint = Checkpoint.objects.select_related("region").get(code=TOLL)
    nanming = Region.objects.get(code=NANMING)
    level = current_levels([nanming]).get(nanming.pk)
    assert level is not None and level.level == "MEDIUM", "demo: 南明区 should be MEDIUM"
    return checkpoint


# --- helpers ---------------------------------------------------------------------------------


#: No htmx request in flight or swap pending (htmx marks the requesting element meanwhile).
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"


def fill_registration(page: Any, values: dict[str, str]) -> None:
    """Type the answers; the plate typed whole puts its abbreviation in the picker and
    suggests its province; then choose the origin province → city → county."""
    form = page.get_by_test_id("register-form")
    for field in ("name", "id_number", "mobile", "destination", "passengers"):
        form.locator(f"#{field}").fill(values[field])
    form.locator("#plate").fill(values["plate"])
    form.locator("#plate").press("Tab")
    plate = parse_plate(values["plate"])
    expect(form.locator("#plate_prefix")).to_have_value(plate.province_abbr)
    expect(form.locator("#origin_province")).to_have_value(f"{plate.province_code}0000")
    for select_id, code in zip(
        ("origin_province", "origin_city", "origin"),
        Region.objects.get(code=values["origin"]).path.split("/"),
        strict=True,
    ):
        # The chooser re-read after the previous choice (a loaded machine answers slowly).
        expect(form.locator(f"#{select_id} option[value='{code}']")).to_have_count(
            1, timeout=15_000
        )
        # The chooser that came back is in the page before htmx has bound its triggers (until
        # it settles): a choice made in between sends nothing.
        page.wait_for_function(SETTLED)
        if form.locator(f"#{select_id}").input_value() == code:
            continue  # suggested from the plate: a traveller leaves it as it is
        # Each choice re-reads the chooser; the next one is made on what came back.
        form.locator(f"#{select_id}").select_option(code)
        page.wait_for_function(SETTLED)
        expect(form.locator(f"#{select_id}")).to_have_value(code)


def submit_registration(page: Any) -> Any:
    with page.expect_navigation() as nav:
        page.get_by_test_id("register-form").locator("button[type=submit]").click()
    return nav.value


def assert_no_horizontal_scroll(page: Any) -> None:
    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width + 1, (
        f"{page.url} scrolls sideways: {scroll_width}px wide in a {inner_width}px viewport"
    )


def register_on_phone(new_context: Callable[..., Any], values: dict[str, str]) -> Any:
    """A traveller scans the QR code and registers; returns the phone's page on the receipt."""
    page = new_context(**PHONE).new_page()
    response = page.goto(reverse("register", args=[TOLL]))
    assert response is not None and response.status == 200
    assert page.evaluate("() => window.innerWidth") == PHONE_WIDTH
    assert_no_horizontal_scroll(page)
    fill_registration(page, values)
    response = submit_registration(page)
    assert response is not None and response.status == 200, response and response.status
    page.get_by_test_id("receipt").wait_for()
    return page


def expected_flags_text(checkpoint: Checkpoint, plate_province: str, origin: str) -> str:
    county = Region.objects.get(code=origin)
    level = current_levels([county]).get(county.pk)
    reasons = flags(
        plate_province_code=plate_province,
        origin_code=origin,
        origin_risk=level.level if level else None,
        home_province=checkpoint.region.code,
    )
    return "；".join(zh for _code, zh, _en in reasons)


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n", body[:16]
    assert body[12:16] == b"IHDR"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


# --- tests -----------------------------------------------------------------------------------


def test_traveller_registers_on_a_phone_and_gets_a_masked_flagged_receipt(
    new_context: Callable[..., Any], toll: Checkpoint
) -> None:
    page = register_on_phone(new_context, TRAVELLER)

    registration = Registration.objects.get()
    assert urlsplit(page.url).path == reverse("receipt", args=[TOLL, registration.token])
    assert registration.flagged and registration.from_risk_area and registration.out_of_province
    assert registration.origin_risk == "MEDIUM"
    assert {code for code, _zh, _en in registration.flag_reasons} == {
        "plate.other_province",
        "origin.medium",
    }

    receipt = page.get_by_test_id("receipt")
    assert receipt.get_attribute("data-flagged") == "1"
    shown_flags = page.get_by_test_id("flags")
    expect(shown_flags).to_be_visible()
    assert shown_flags.inner_text().strip() == expected_flags_text(toll, "11", NANMING)

    receipt_text = receipt.inner_text()
    assert mask_resident_id(TRAVELLER["id_number"]) in receipt_text
    assert mask_plate(TRAVELLER["plate"]) in receipt_text
    html = page.content()
    for secret in ("id_number", "mobile", "name"):
        assert TRAVELLER[secret] not in html, f"the receipt shows the full {secret}"

    assert_no_horizontal_scroll(page)


def test_wrong_id_checksum_is_refused_and_nothing_is_stored(
    new_context: Callable[..., Any], toll: Checkpoint
) -> None:
    with pytest.raises(InvalidValue) as refused:
        parse_resident_id(BAD_ID)
    assert refused.value.code == "id.checksum"
    before = Registration.objects.count()

    page = new_context(**PHONE).new_page()
    page.goto(reverse("register", args=[TOLL]))
    fill_registration(page, dict(TRAVELLER, id_number=BAD_ID))
    response = submit_registration(page)
    assert response is not None and response.status == 422

    error = page.locator('[data-field="id_number"]')
    expect(error).to_be_visible()
    assert error.inner_text().strip() in {refused.value.message_zh, refused.value.message_en}
    assert page.locator("p.error[data-field]").count() == 1, "only the ID number is wrong"
    assert page.get_by_test_id("receipt").count() == 0
    assert Registration.objects.count() == before

    # Every answer is kept (the ID number to correct it); the reason names no code.
    assert page.locator("#name").input_value() == TRAVELLER["name"]
    assert page.locator("#origin").input_value() == NANMING
    assert page.locator("#id_number").input_value() == BAD_ID
    assert "id.checksum" not in error.inner_text()
    assert_no_horizontal_scroll(page)


def test_officer_console_flags_refreshes_searches_and_exports(
    new_context: Callable[..., Any], toll: Checkpoint
) -> None:
    from openpyxl import load_workbook

    register_on_phone(new_context, TRAVELLER)

    page = new_context().new_page()
    staff_login(page, "officer")
    response = page.goto(reverse("checkpoint:console", args=[TOLL]))
    assert response is not None and response.status == 200
    rows = page.get_by_test_id("arrivals").locator("tbody tr")
    flagged_row = rows.filter(has_text=mask_plate(TRAVELLER["plate"]))
    expect(flagged_row).to_have_count(1, timeout=5_000)
    assert flagged_row.get_attribute("data-flagged") == "1"
    expect(flagged_row).to_contain_text(expected_flags_text(toll, "11", NANMING))

    # A second arrival registers while the console is open: it appears without a reload.
    page.evaluate("() => { window.__sameDocument = true; }")
    local = {
        "name": "李四",
        "id_number": resident_id(GUANSHANHU, "19900307", "123"),
        "mobile": "13700137000",
        "plate": "贵A8K3M2",
        "origin": GUANSHANHU,
        "destination": "贵阳市南明区",
        "passengers": "0",
    }
    second = services.register(toll, local)
    assert not second.flagged
    new_row = rows.filter(has_text=mask_plate(local["plate"]))
    expect(new_row).to_have_count(1, timeout=LIVE_WAIT_MS)
    assert new_row.get_attribute("data-flagged") is None
    assert page.evaluate("() => window.__sameDocument") is True, "the console reloaded"
    expect(rows).to_have_count(2)

    html = page.content()
    for person in (TRAVELLER, local):
        for secret in ("id_number", "mobile", "name", "plate"):
            assert person[secret] not in html, f"the console shows a full {secret}"

    # Search by plate.
    page.locator("input[name=plate]").fill(TRAVELLER["plate"])
    page.locator("form[hx-get] button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(mask_plate(TRAVELLER["plate"]))
    assert rows.first.get_attribute("data-flagged") == "1"
    assert page.evaluate("() => window.__sameDocument") is True

    # Excel export: masked, newest first.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Excel", exact=True).click()
    download = download_info.value
    assert download.suggested_filename == f"arrivals-{TOLL}.xlsx"
    with open(download.path(), "rb") as handle:  # no extension on disk: openpyxl wants one
        book = load_workbook(io.BytesIO(handle.read()), read_only=True)
    sheet = book.active
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    book.close()
    with translation.override("zh-hans"):
        assert table[0] == services.export_headers()
    assert len(table) == 3
    first = dict(zip(services.EXPORT_COLUMNS, table[1], strict=True))
    newest = Registration.objects.first()
    assert newest is not None and newest.pk == second.pk
    assert first["id"] == newest.id_masked == mask_resident_id(local["id_number"])
    cells = {str(cell) for row in table for cell in row}
    for person in (TRAVELLER, local):
        for secret in ("id_number", "mobile", "name", "plate"):
            assert not any(person[secret] in cell for cell in cells), f"export has a full {secret}"


def test_qr_code_is_a_png(new_context: Callable[..., Any], toll: Checkpoint) -> None:
    page = new_context().new_page()  # no login: the QR code is printed and posted up
    response = page.request.get(reverse("checkpoint:qr", args=[TOLL, "png"]))
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    width, height = png_size(response.body())
    assert width == height and width >= 200


def test_regional_dashboard_draws_six_charts_and_exports(
    new_context: Callable[..., Any], toll: Checkpoint
) -> None:
    from openpyxl import load_workbook

    services.register(toll, dict(TRAVELLER))  # something for the arrivals chart

    page = new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    staff_login(page, "gz_admin")
    response = page.goto(reverse("dashboard:regional"))
    assert response is not None and response.status == 200

    page.wait_for_function("() => window.charts === 6")
    assert page.locator(".chart").evaluate_all("els => els.map(e => e.id)") == list(CHART_IDS)
    sizes = page.evaluate(
        """ids => ids.map(id => {
            const canvas = document.querySelector('#' + id + ' canvas');
            return canvas ? [canvas.width, canvas.getBoundingClientRect().width] : null;
        })""",
        list(CHART_IDS),
    )
    for chart_id, size in zip(CHART_IDS, sizes, strict=True):
        assert size is not None, f"#{chart_id} has no canvas"
        assert size[0] > 0 and size[1] > 0, f"#{chart_id} canvas is {size}"
    assert not errors, errors

    with page.expect_download() as download_info:
        page.get_by_test_id("export").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as handle:
        body = handle.read()
    assert body[:2] == b"PK"
    book = load_workbook(io.BytesIO(body), read_only=True)
    # Sheets and headers in the page's language (zh-Hans), labels rather than codes.
    assert book.sheetnames == [
        "风险等级", "服务场所", "网上申请", "邮寄", "卡口到达", "优先类别", "优先单位", "摇号",
    ]  # fmt: skip
    arrivals = [list(row) for row in book["卡口到达"].iter_rows(values_only=True)]
    book.close()
    assert arrivals[0] == ["项目", "数量"] and len(arrivals) == 2
