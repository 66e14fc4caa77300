"""Issue 17 (reference data) through the checkpoint registration page and API: embassy,
consulate and Hong Kong/Macau plates are accepted; an ID whose first six digits are no real
GB/T 2260 code (529999) is refused; Taiwan residence permits (830000) and IDs issued under
an abolished county code (110103 崇文区, abolished 2010) are accepted."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from trafficdesk.checkpoint import services
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.core.validators import id_check_char

PAGE = "/c/GY-N-TOLL/"
API = "/api/v1/checkpoints/GY-N-TOLL/registrations"


def resident_id(region: str, born: str = "19900307", serial: str = "123") -> str:
    first17 = f"{region}{born}{serial}"
    return first17 + id_check_char(first17)


ANSWERS = {
    "name": "王建国",
    "id_number": resident_id("520115"),
    "mobile": "13912345678",
    "plate": "贵A12345",
    "origin": "520115",
    "destination": "贵阳市观山湖区",
    "passengers": "1",
}


@pytest.fixture
def toll(demo: Any) -> Checkpoint:
    return Checkpoint.objects.select_related("region").get(code="GY-N-TOLL")


def error_codes(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="(\w+)" data-code="([\w.]+)"', html))


@pytest.mark.parametrize("plate", ["使014578", "沪A1234领", "粤Z1234港", "粤Z1234澳", "京O12345"])
def test_the_page_accepts_the_ga36_plates(client: Client, toll: Checkpoint, plate: str) -> None:
    response = client.post(PAGE, dict(ANSWERS, plate=plate))
    assert response.status_code == 302, error_codes(response.content.decode())
    assert Registration.objects.filter(plate=plate).exists()


def test_the_api_accepts_an_embassy_plate(client: Client, toll: Checkpoint) -> None:
    response = client.post(
        API, json.dumps(dict(ANSWERS, plate="使014578")), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    # an embassy plate names no province: it is not one of Guizhou's
    assert "plate.other_province" in [f["code"] for f in response.json()["flags"]]


def test_an_embassy_plate_typed_after_the_picker_keeps_its_mark(toll: Checkpoint) -> None:
    registration = services.register(toll, dict(ANSWERS, plate_prefix="贵", plate="使014578"))
    assert registration.plate == "使014578"


def test_an_id_with_no_real_region_code_is_refused(client: Client, toll: Checkpoint) -> None:
    bad = resident_id("529999")
    page = client.post(PAGE, dict(ANSWERS, id_number=bad))
    assert page.status_code == 422
    assert error_codes(page.content.decode())["id_number"] == "id.region"
    assert "不是有效的地区代码" in page.content.decode()
    api = client.post(
        API,
        json.dumps(dict(ANSWERS, id_number=bad)),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert api.status_code == 422
    assert api.json()["error_codes"]["id_number"] == "id.region"
    assert api.json()["errors"]["id_number"] == (
        "The first 6 digits of the ID number are not a real region code. Check the number."
    )


@pytest.mark.parametrize(
    "region",
    [
        "830000",  # Taiwan residence permit
        "810000",  # Hong Kong residence permit
        "820000",  # Macau residence permit
        "110103",  # 北京市崇文区, abolished 2010: its IDs stay valid
        "520115",  # 贵阳市观山湖区 (the test fixtures' code)
    ],
)
def test_ids_under_real_codes_are_accepted(client: Client, toll: Checkpoint, region: str) -> None:
    response = client.post(
        API,
        json.dumps(dict(ANSWERS, id_number=resident_id(region))),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
