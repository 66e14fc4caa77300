"""Checkpoint registration for all of China: the whole GB/T 2260 tree is loaded, the origin is
chosen province → city → county (with and without JavaScript), the plate's province suggests
the origin province, the receipt and the officer's pages speak the reader's language with no
raw codes, and the API answers the page's refusals with the same codes."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from trafficdesk.audit.models import AuditEntry
from trafficdesk.checkpoint import services
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.checkpoint.rules import (
    PLATE_PICKER,
    combine_plate,
    plate_has_province,
    plate_province_code,
)
from trafficdesk.core.validators import PLATE_PROVINCES
from trafficdesk.core.vocabulary import RiskLevel
from trafficdesk.regions.models import Region, RegionLevel, RiskAssessment
from trafficdesk.regions.services import DIVISIONS_CSV, load_country

REGISTER = "/c/GY-N-TOLL/"
API = "/api/v1/checkpoints/GY-N-TOLL/registrations"
ORIGIN = "/checkpoints/GY-N-TOLL/origin/"
ID = "11010519491231002X"
BEIJING_DRIVER = {
    "name": "王建国",
    "id_number": ID,
    "mobile": "13912345678",
    "plate_prefix": "京",
    "plate": "A12345",
    "origin_province": "110000",
    "origin": "110105",  # 北京市 朝阳区: a district directly under the municipality
    "destination": "贵阳市观山湖区",
    "passengers": "1",
}


@pytest.fixture
def toll(demo: Any) -> Checkpoint:
    return Checkpoint.objects.select_related("region").get(code="GY-N-TOLL")


def field_value(html: str, name: str) -> str | None:
    """The value an <input name=...> is filled with, or the selected option of a <select>."""
    found = re.search(rf'<input[^>]*\bname="{name}"[^>]*\bvalue="([^"]*)"', html)
    if found:
        return found.group(1)
    select = re.search(rf'<select[^>]*\bname="{name}"[^>]*>(.*?)</select>', html, re.S)
    if select:
        chosen = re.search(r'<option value="([^"]*)" selected>', select.group(1))
        return chosen.group(1) if chosen else ""
    return None


def options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*\bname="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, f"no <select name={name}>"
    return [v for v in re.findall(r'<option value="([^"]*)"', select.group(1)) if v]


def error_codes(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="(\w+)" data-code="([\w.]+)"', html))


# --- the divisions ----------------------------------------------------------------------------


def test_the_demo_loads_every_province_city_and_county_of_china(demo: Any) -> None:
    counts = {level: Region.objects.filter(level=level).count() for level in RegionLevel.values}
    assert counts == {"province": 34, "city": 333, "county": 2847}
    chaoyang = Region.objects.select_related("parent").get(code="110105")
    assert chaoyang.name_zh == "朝阳区" and chaoyang.parent is not None
    assert chaoyang.parent.code == "110000"  # municipalities: districts under the province
    assert Region.objects.get(code="420102").path == "420000/420100/420102"


def test_loading_the_country_again_changes_nothing_and_restores_the_file(demo: Any) -> None:
    ids = dict(Region.objects.values_list("code", "id"))
    Region.objects.filter(code="110105").update(name_zh="改错的名字", name_en="Chaoyang")
    assert load_country() == len(DIVISIONS_CSV.read_text(encoding="utf-8").splitlines()) - 1
    assert dict(Region.objects.values_list("code", "id")) == ids
    chaoyang = Region.objects.get(code="110105")
    assert (chaoyang.name_zh, chaoyang.name_en) == ("朝阳区", "Chaoyang")


def test_the_command_loads_the_whole_country(demo: Any) -> None:
    out = io.StringIO()
    call_command("load_regions", "all", stdout=out)
    assert "3214 divisions of China loaded" in out.getvalue()


# --- the plate --------------------------------------------------------------------------------


def test_the_picker_offers_every_plate_province_in_the_12123_order() -> None:
    assert set(PLATE_PICKER) == set(PLATE_PROVINCES) and len(PLATE_PICKER) == 31
    assert "".join(PLATE_PICKER[:8]) == "京津沪渝冀豫云辽"


@pytest.mark.parametrize(
    ("prefix", "rest", "plate", "province"),
    [
        ("京", "A12345", "京A12345", "110000"),
        ("", "京A12345", "京A12345", "110000"),
        ("贵", "京A12345", "京A12345", "110000"),  # typed in full: the typed one wins
        ("沪", " ad12345 ", "沪ad12345", "310000"),
        ("", "临川A1234", "临川A1234", "510000"),
        ("", "A12345", "A12345", None),
        ("X", "A12345", "A12345", None),
    ],
)
def test_a_plate_typed_in_two_parts(
    prefix: str, rest: str, plate: str, province: str | None
) -> None:
    assert combine_plate(prefix, rest) == plate
    assert plate_province_code(prefix, rest) == province
    assert plate_has_province(plate) is (province is not None)


# --- the chooser ------------------------------------------------------------------------------


def test_a_municipality_has_no_city_step(demo: Any) -> None:
    choices = services.origin_choices("110000")
    assert not choices.has_city_step and choices.province is not None
    assert {"110101", "110105"} <= {c.code for c in choices.counties}
    assert services.origin_choices("110000", county_code="110105").county is not None


def test_a_province_offers_its_cities_then_a_city_its_counties(demo: Any) -> None:
    hebei = services.origin_choices("130000")
    assert hebei.has_city_step and "130100" in {c.code for c in hebei.cities}
    assert hebei.counties == []
    shijiazhuang = services.origin_choices("130000", "130100")
    assert "130102" in {c.code for c in shijiazhuang.counties}
    assert all(c.parent_id == shijiazhuang.city.pk for c in shijiazhuang.counties)  # type: ignore[union-attr]
    stale = services.origin_choices("130000", "520100", "520102")  # Guiyang is not in Hebei
    assert stale.city is None and stale.county is None


@pytest.mark.parametrize(
    ("province", "second", "name"),
    [("410000", "419001", "济源市"), ("440000", "441900", "东莞市")],
)
def test_a_division_with_nothing_under_it_is_its_own_county(
    demo: Any, province: str, second: str, name: str
) -> None:
    """省直辖 county-level cities and prefecture-level cities with no districts."""
    choices = services.origin_choices(province, second)
    assert [c.code for c in choices.counties] == [second]
    assert choices.county is not None and choices.county.name_zh == name


def test_the_plate_suggests_the_origin_province(demo: Any) -> None:
    suggested = services.origin_choices(plate_prefix="京")
    assert suggested.suggested and suggested.province is not None
    assert suggested.province.name_zh == "北京市"
    chosen = services.origin_choices("520000", plate_prefix="京")
    assert not chosen.suggested and chosen.province.code == "520000"  # type: ignore[union-attr]


def test_provinces_without_counties_are_not_offered(demo: Any) -> None:
    codes = {p.code for p in services.origin_provinces()}
    assert len(codes) == 31 and not codes & {"710000", "810000", "820000"}


# --- registering from anywhere ----------------------------------------------------------------


def test_a_driver_from_beijing_is_flagged_out_of_province(toll: Checkpoint) -> None:
    registration = services.register(toll, BEIJING_DRIVER)
    assert registration.plate == "京A12345" and registration.origin.code == "110105"
    assert registration.out_of_province and not registration.from_risk_area
    assert [code for code, _zh, _en in registration.flag_reasons] == [
        "plate.other_province",
        "origin.other_province",
    ]


def test_a_risk_county_outside_guizhou_is_flagged(toll: Checkpoint) -> None:
    jiangan = Region.objects.get(code="420102")  # 湖北省武汉市江岸区
    RiskAssessment.objects.create(region=jiangan, level=RiskLevel.HIGH, reason="测试")
    registration = services.register(
        toll, dict(BEIJING_DRIVER, plate_prefix="鄂", origin_province="", origin="420102")
    )
    assert registration.from_risk_area and registration.origin_risk == RiskLevel.HIGH
    assert "origin.high" in {code for code, _zh, _en in registration.flag_reasons}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"origin": "999999"}, "origin", "origin.unknown"),
        ({"origin": ""}, "origin", "origin.missing"),
        ({"origin": "110000"}, "origin", "origin.not_county"),
        ({"origin": "130102"}, "origin", "origin.changed"),  # 北京 still chosen
        ({"plate_prefix": "", "plate": "A12345"}, "plate", "plate.province"),
        ({"plate": "A1"}, "plate", "plate.format"),
        ({"id_number": "110105194912310021"}, "id_number", "id.checksum"),
        ({"mobile": "1234"}, "mobile", "mobile.format"),
        ({"passengers": "many"}, "passengers", "passengers.range"),
    ],
)
def test_the_page_and_the_api_refuse_alike_and_the_page_keeps_every_answer(
    client: Client, toll: Checkpoint, changes: dict[str, str], field: str, code: str
) -> None:
    answers = dict(BEIJING_DRIVER, **changes)
    page = client.post(REGISTER, answers)
    html = page.content.decode()
    assert page.status_code == 422
    assert error_codes(html) == {field: code}
    message = re.search(rf'data-field="{field}"[^>]*>([^<]+)<', html)
    assert message and re.search(r"[\u4e00-\u9fff]", message.group(1)), "says why, in Chinese"
    assert code not in message.group(1)
    for name in ("name", "id_number", "mobile", "plate_prefix", "plate", "destination"):
        assert field_value(html, name) == answers[name], f"{name} was not given back"
    assert Registration.objects.count() == 0

    api = client.post(API, json.dumps(answers), content_type="application/json")
    assert api.status_code == 422
    body = api.json()
    assert body["code"] == "registration.invalid"
    assert body["error_codes"] == {field: code}
    assert body["errors"] == {field: message.group(1).strip()}
    assert Registration.objects.count() == 0


def test_the_api_registers_a_traveller_from_another_province(
    client: Client, toll: Checkpoint
) -> None:
    answers = {
        "name": "李四",
        "id_number": ID,
        "mobile": "13912345678",
        "plate": "鄂A12345",
        "origin": "420102",
        "destination": "贵阳",
        "passengers": 0,
    }
    response = client.post(API, json.dumps(answers), content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["origin"] == {"code": "420102", "name": "湖北省武汉市江岸区"}
    assert body["flagged"] and body["out_of_province"]
    assert [f["code"] for f in body["flags"]] == ["plate.other_province", "origin.other_province"]
    assert [f["detail"] for f in body["flags"]] == ["外省号牌车辆", "来自外省"]
    assert body["id_number"] == "1101**********002X" and body["plate"] == "鄂A***45"
    assert ID not in response.content.decode()
    assert client.get(body["receipt_url"]).status_code == 200
    english = client.post(
        API, json.dumps(answers), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    ).json()
    assert english["flags"][0]["detail"] == "vehicle registered in another province"
    gone = client.post(
        "/api/v1/checkpoints/NO-SUCH/registrations",
        json.dumps(answers),
        content_type="application/json",
    )
    assert gone.status_code == 404


# --- the pages --------------------------------------------------------------------------------


def test_the_traveller_page_is_bare_with_a_language_switch(
    client: Client, toll: Checkpoint
) -> None:
    html = client.get(REGISTER).content.decode()
    assert 'data-testid="public-nav"' not in html and 'data-testid="role-nav"' not in html
    assert "/accounts/staff/" not in html and "/accounts/login" not in html
    assert 'href="/api/v1/docs"' not in html
    assert 'action="/i18n/setlang/"' in html and 'value="en"' in html
    assert "出行登记" in html and "贵阳北收费站" in html


def test_without_javascript_the_origin_is_chosen_step_by_step(
    client: Client, toll: Checkpoint
) -> None:
    typed = {k: BEIJING_DRIVER[k] for k in ("name", "id_number", "mobile", "destination")}
    first = client.get(REGISTER).content.decode()
    assert options(first, "origin_province")[:3] == ["110000", "120000", "130000"]
    assert 'name="origin"' not in first and "显示下一级" in first  # the no-JS button

    # Hebei: province → city → county, every answer kept on each step.
    step = client.post(REGISTER, dict(typed, plate_prefix="冀", plate="A12345", step="origin"))
    html = step.content.decode()
    assert step.status_code == 200 and "已根据号牌推荐：河北省" in html
    assert field_value(html, "origin_province") == "130000"
    assert "130100" in options(html, "origin_city") and 'name="origin"' not in html
    step = client.post(
        REGISTER,
        dict(typed, plate_prefix="冀", plate="A12345", origin_province="130000", step="origin",
             origin_city="130100"),
    )  # fmt: skip
    html = step.content.decode()
    assert "130102" in options(html, "origin")
    for name, value in typed.items():
        assert field_value(html, name) == value
    done = client.post(
        REGISTER,
        dict(typed, plate_prefix="冀", plate="A12345", origin_province="130000",
             origin_city="130100", origin="130102"),
    )  # fmt: skip
    assert done.status_code == 302
    assert Registration.objects.get().origin.code == "130102"


def test_beijing_plate_suggests_beijing_and_its_districts(client: Client, toll: Checkpoint) -> None:
    html = client.post(REGISTER, {"plate": "京A12345", "step": "origin"}).content.decode()
    assert field_value(html, "origin_province") == "110000"
    assert 'name="origin_city"' not in html  # no city step for a municipality
    assert "110105" in options(html, "origin")


def test_the_htmx_chooser_sends_only_codes(client: Client, toll: Checkpoint) -> None:
    html = client.get(ORIGIN, {"origin_province": "130000"}, HTTP_HX_REQUEST="true")
    assert html.status_code == 200
    body = html.content.decode()
    assert body.lstrip().startswith("<fieldset") and "<html" not in body
    assert 'name="step"' not in body  # the no-JS button is for the whole page only
    assert "130100" in options(body, "origin_city")
    suggested = client.get(ORIGIN, {"plate_prefix": "京"}).content.decode()
    assert field_value(suggested, "origin_province") == "110000"
    assert "110105" in options(suggested, "origin")
    nonsense = client.get(ORIGIN, {"origin_province": "x" * 50, "origin": "<b>"})
    assert nonsense.status_code == 200 and "<b>" not in nonsense.content.decode()
    assert client.get("/checkpoints/NO-SUCH/origin/").status_code == 404


def test_the_receipt_is_in_chinese_with_no_codes(client: Client, toll: Checkpoint) -> None:
    response = client.post(REGISTER, BEIJING_DRIVER)
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    text = re.sub(r"<[^>]+>", " ", html.split("<main>")[1])
    for words in ("登记成功", "贵阳北收费站", "北京市朝阳区", "外省号牌车辆；来自外省", "号牌号码"):
        assert words in text
    for code in ("plate.other_province", "110105", "110000", "toll_station", "MEDIUM"):
        assert code not in html.split("<main>")[1]
    for secret in (ID, "13912345678", "王建国", "京A12345"):
        assert secret not in html
    assert "1101**********002X" in text and "京A***45" in text


def test_the_receipt_in_english(client: Client, toll: Checkpoint) -> None:
    location = client.post(REGISTER, BEIJING_DRIVER)["Location"]
    html = client.get(location, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="en"' in html
    for words in (
        "Registered",
        "Guiyang North toll station",
        "vehicle registered in another province; coming from another province",
        "Plate number",
    ):
        assert words in html
    assert "登记成功" not in html


def test_the_officer_console_shows_labels_not_codes(
    client: Client, users: dict[str, Any], toll: Checkpoint
) -> None:
    RiskAssessment.objects.create(
        region=Region.objects.get(code="110105"), level=RiskLevel.MEDIUM, reason="测试"
    )
    services.register(toll, BEIJING_DRIVER)
    client.force_login(users["officer"])
    html = client.get("/checkpoints/GY-N-TOLL/console/").content.decode()
    row = re.search(r'<tr class="cp-flagged" data-flagged="1">(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.sub(r"<[^>]+>", " ", row.group(1))
    assert "北京市朝阳区" in cells and "中风险" in cells and "来自中风险地区" in cells
    assert ">MEDIUM<" not in html and "origin.medium" not in html
    english = client.get("/checkpoints/GY-N-TOLL/console/", HTTP_ACCEPT_LANGUAGE="en")
    assert "coming from a medium risk county" in english.content.decode()
    assert "medium risk" in english.content.decode()
    listing = client.get("/checkpoints/").content.decode()
    assert "贵阳北收费站" in listing and "收费站" in listing and "toll_station" not in listing


def test_exports_have_translated_headers(
    client: Client, users: dict[str, Any], toll: Checkpoint
) -> None:
    services.register(toll, BEIJING_DRIVER)
    client.force_login(users["officer"])
    text = client.get("/checkpoints/GY-N-TOLL/export.csv").content.decode("utf-8-sig")
    header, first = text.splitlines()[:2]
    assert header.split(",")[:3] == ["登记时间", "姓名", "身份证号码"]
    assert "北京市朝阳区" in first and "外省号牌车辆" in first
    assert AuditEntry.objects.filter(action="checkpoint.export").exists()
