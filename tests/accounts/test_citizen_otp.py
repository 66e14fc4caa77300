"""Citizens log in with a mobile number and a 6-digit SMS code."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from trafficdesk.accounts import services
from trafficdesk.accounts.models import OtpChallenge, User
from trafficdesk.notify.models import SmsMessage

MOBILE = "13912345678"


def _code(outbox: list[tuple[str, str]], phone: str = MOBILE) -> str:
    text = [t for p, t in outbox if p == phone][-1]
    match = re.search(r"\b(\d{6})\b", text)
    assert match
    return match.group(1)


def test_code_has_six_digits_and_logs_in_a_new_citizen(
    db: Any, sms_outbox: list[tuple[str, str]]
) -> None:
    sent = services.request_login_code("+86 139-1234-5678")
    assert sent.masked_mobile == "139****5678" and sent.expires_in_seconds == 300
    code = _code(sms_outbox)
    assert re.fullmatch(r"\d{6}", code)
    user = services.verify_login_code(MOBILE, code)
    assert user.role == "citizen" and user.mobile == MOBILE and not user.has_usable_password()


def test_codes_come_from_a_secure_source_and_vary() -> None:
    codes = {services.generate_code() for _ in range(200)}
    assert len(codes) > 190
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)


def test_code_is_single_use(db: Any, sms_outbox: list[tuple[str, str]]) -> None:
    services.request_login_code(MOBILE)
    code = _code(sms_outbox)
    services.verify_login_code(MOBILE, code)
    with pytest.raises(services.OtpRejected):
        services.verify_login_code(MOBILE, code)


def test_code_expires_after_five_minutes(db: Any, sms_outbox: list[tuple[str, str]]) -> None:
    services.request_login_code(MOBILE)
    OtpChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.OtpRejected):
        services.verify_login_code(MOBILE, _code(sms_outbox))


def test_a_new_code_replaces_the_old_one(db: Any, sms_outbox: list[tuple[str, str]]) -> None:
    services.request_login_code(MOBILE)
    first = _code(sms_outbox)
    services.request_login_code(MOBILE)
    second = _code(sms_outbox)
    if first != second:
        with pytest.raises(services.OtpRejected):
            services.verify_login_code(MOBILE, first)
    assert services.verify_login_code(MOBILE, second).mobile == MOBILE


def test_too_many_wrong_codes_burn_the_challenge(
    db: Any, sms_outbox: list[tuple[str, str]]
) -> None:
    services.request_login_code(MOBILE)
    right = _code(sms_outbox)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(services.OtpRejected):
            services.verify_login_code(MOBILE, wrong)
    with pytest.raises(services.OtpRejected):
        services.verify_login_code(MOBILE, right)


def test_outbox_and_database_never_hold_the_code_or_full_number(
    db: Any, sms_outbox: list[tuple[str, str]]
) -> None:
    services.request_login_code(MOBILE)
    code = _code(sms_outbox)
    message = SmsMessage.objects.get()
    assert code not in message.body and MOBILE not in message.body
    assert message.recipient_masked == "139****5678"
    challenge = OtpChallenge.objects.get()
    assert code not in challenge.code_digest and MOBILE not in challenge.phone_digest


def test_same_answer_whether_or_not_the_number_is_known(
    client: Client, db: Any, sms_outbox: Any
) -> None:
    User.objects.create(username="known", mobile="13900000001", role="citizen")
    known = client.post(
        "/api/v1/accounts/otp/request", {"mobile": "13900000001"}, content_type="application/json"
    )
    unknown = client.post(
        "/api/v1/accounts/otp/request", {"mobile": "13900000002"}, content_type="application/json"
    )
    assert known.status_code == unknown.status_code == 200
    strip = lambda body: {k: v for k, v in body.items() if k != "masked_mobile"}  # noqa: E731
    assert strip(known.json()) == strip(unknown.json())
    page_known = client.post("/accounts/login/", {"mobile": "13900000001"}).content.decode()
    assert "13900000001" not in page_known
    page_unknown = client.post("/accounts/login/", {"mobile": "13900000002"}).content.decode()

    def normalised(page: str, masked: str, mobile: str) -> str:
        page = re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1", page)
        return page.replace(masked, "").replace(mobile, "")

    assert normalised(page_known, "139****0001", "13900000001") == normalised(
        page_unknown, "139****0002", "13900000002"
    )


def test_rate_limited_per_phone(client: Client, db: Any, sms_outbox: Any) -> None:
    statuses = [
        client.post(
            "/api/v1/accounts/otp/request", {"mobile": MOBILE}, content_type="application/json"
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    assert len(sms_outbox) == 3
    assert client.post("/accounts/login/", {"mobile": MOBILE}).status_code == 429


def test_rate_limited_per_ip(client: Client, db: Any, sms_outbox: Any) -> None:
    statuses = [
        client.post(
            "/api/v1/accounts/otp/request",
            {"mobile": f"1390000{i:04d}"},
            content_type="application/json",
            REMOTE_ADDR="192.0.2.7",
        ).status_code
        for i in range(21)
    ]
    assert statuses.count(200) == 20 and statuses[-1] == 429
    other_ip = client.post(
        "/api/v1/accounts/otp/request",
        {"mobile": "13700000000"},
        content_type="application/json",
        REMOTE_ADDR="192.0.2.8",
    )
    assert other_ip.status_code == 200


def test_bad_mobile_is_a_clear_422(client: Client, db: Any) -> None:
    response = client.post(
        "/api/v1/accounts/otp/request", {"mobile": "12345"}, content_type="application/json"
    )
    assert response.status_code == 422 and response.json()["code"] == "mobile.format"
    page = client.post("/accounts/login/", {"mobile": "12345"})
    assert page.status_code == 422


def test_web_flow_logs_in_and_masks_the_number(client: Client, db: Any, sms_outbox: Any) -> None:
    client.post("/accounts/login/", {"mobile": MOBILE})
    response = client.post("/accounts/login/verify/", {"code": _code(sms_outbox)}, follow=True)
    body = response.content.decode()
    assert response.status_code == 200 and "139****5678" in body and MOBILE not in body


def test_wrong_code_in_web_flow_says_why(client: Client, db: Any, sms_outbox: Any) -> None:
    client.post("/accounts/login/", {"mobile": MOBILE})
    wrong = f"{(int(_code(sms_outbox)) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/login/verify/", {"code": wrong})
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_staff_accounts_cannot_log_in_by_sms(
    db: Any, users: dict[str, Any], sms_outbox: Any
) -> None:
    clerk = users["clerk"]
    clerk.mobile = "13600000000"
    clerk.save()
    services.request_login_code("13600000000")
    with pytest.raises(services.OtpRejected):
        services.verify_login_code("13600000000", _code(sms_outbox, "13600000000"))


def test_login_returns_to_the_page_that_asked_for_it(
    client: Client, db: Any, sms_outbox: Any
) -> None:
    client.post("/accounts/login/?next=/booking/mine/", {"mobile": MOBILE})
    response = client.post("/accounts/login/verify/", {"code": _code(sms_outbox)})
    assert response.status_code == 302 and response["Location"] == "/booking/mine/"


def test_login_ignores_a_next_on_another_site(client: Client, db: Any, sms_outbox: Any) -> None:
    client.post("/accounts/login/?next=https://evil.example/", {"mobile": MOBILE})
    response = client.post("/accounts/login/verify/", {"code": _code(sms_outbox)})
    assert response["Location"] == "/accounts/me/"
