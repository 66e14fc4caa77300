"""The SMS gateways against a local server on loopback that speaks each provider's documented
protocol and checks the request's signature as the provider does (recomputed here, from the
documentation, with the same secret): Alibaba Cloud SendSms (signature V1, HMAC-SHA1) and
Tencent Cloud SendSms 2021-01-11 (TC3-HMAC-SHA256). Then retries with back-off, a
permanent failure on the staff page, "retry now", and the delivery receipts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from trafficdesk.notify import delivery
from trafficdesk.notify.models import DeliveryStatus, SmsMessage, SmsStatus
from trafficdesk.notify.services import SMS_SIGNATURE, in_sms_language, queue_sms, sms_text

ALIYUN_ID, ALIYUN_SECRET = "LTAI-test-id", "aliyun-test-secret"
TENCENT_ID, TENCENT_KEY = "AKID-test-id", "tencent-test-key"
RECEIPT_TOKEN = "receipt-token-0123456789abcdef"


def aliyun_expected_signature(params: dict[str, str], secret: str) -> str:
    """As documented: sort every parameter but Signature, percent-encode names and values
    (RFC 3986; space is %20, ~ is kept), join with & and =, StringToSign = METHOD & %2F &
    encode(that); Base64(HMAC-SHA1(secret + "&", StringToSign))."""

    def enc(s: str) -> str:
        return urllib.parse.quote(s, safe="~")

    canonical = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params) if k != "Signature")
    to_sign = "POST&%2F&" + enc(canonical)
    mac = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def tencent_expected_signature(
    secret_key: str, headers: Any, payload: bytes, timestamp: str, date: str
) -> str:
    """As documented: CanonicalRequest over POST / with the signed headers content-type and
    host as received, StringToSign with the credential scope date/sms/tc3_request, and the
    key derived TC3+key → date → service → tc3_request."""
    canonical = (
        f"POST\n/\n\ncontent-type:{headers['Content-Type']}\nhost:{headers['Host']}\n\n"
        f"content-type;host\n{hashlib.sha256(payload).hexdigest()}"
    )
    to_sign = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n"
        f"{hashlib.sha256(canonical.encode()).hexdigest()}"
    )

    def h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(h(h(("TC3" + secret_key).encode(), date), "sms"), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class Provider:
    """What the fake providers answer next ("ok", "500", "throttle", "bad-number"), and the
    requests they accepted."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.accepted: list[dict[str, Any]] = []
        self.counter = 0

    def next(self) -> str:
        return self.script.pop(0) if self.script else "ok"


class Handler(BaseHTTPRequestHandler):
    provider: Provider

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/aliyun"):
            self._aliyun(body)
        else:
            self._tencent(body)

    def _aliyun(self, body: bytes) -> None:
        params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        signature = params.get("Signature", "")
        if not hmac.compare_digest(signature, aliyun_expected_signature(params, ALIYUN_SECRET)):
            self._answer(400, {"Code": "SignatureDoesNotMatch", "RequestId": "r",
                               "Message": "Specified signature is not matched with our calculation."})  # fmt: skip
            return
        assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25"
        assert params["SignatureMethod"] == "HMAC-SHA1" and params["SignatureVersion"] == "1.0"
        assert params["Format"] == "JSON" and params["AccessKeyId"] == ALIYUN_ID
        datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        step = self.provider.next()
        if step == "500":
            self._answer(500, {"Code": "isp.SYSTEM_ERROR", "Message": "system error"})
        elif step == "throttle":
            self._answer(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"})
        elif step == "bad-number":
            self._answer(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
        else:
            self.provider.counter += 1
            self.provider.accepted.append(params)
            self._answer(200, {"Code": "OK", "Message": "OK", "RequestId": "r",
                               "BizId": f"9006197469364984{self.provider.counter}^0"})  # fmt: skip

    def _tencent(self, body: bytes) -> None:
        auth = self.headers.get("Authorization", "")
        fields = dict(
            part.strip().split("=", 1) for part in auth.removeprefix("TC3-HMAC-SHA256 ").split(",")
        )
        credential = fields.get("Credential", "").split("/")
        timestamp = self.headers.get("X-TC-Timestamp", "")
        date = datetime.fromtimestamp(int(timestamp or 0), UTC).strftime("%Y-%m-%d")
        expected = tencent_expected_signature(TENCENT_KEY, self.headers, body, timestamp, date)
        if (
            credential != [TENCENT_ID, date, "sms", "tc3_request"]
            or fields.get("SignedHeaders") != "content-type;host"
            or not hmac.compare_digest(fields.get("Signature", ""), expected)
        ):
            self._answer(200, {"Response": {"RequestId": "r", "Error": {
                "Code": "AuthFailure.SignatureFailure",
                "Message": "The provided credentials could not be validated."}}})  # fmt: skip
            return
        assert self.headers["X-TC-Action"] == "SendSms"
        assert self.headers["X-TC-Version"] == "2021-01-11" and self.headers["X-TC-Region"]
        request = json.loads(body)
        step = self.provider.next()
        if step == "500":
            self._answer(502, {})
            return
        code = {"throttle": "LimitExceeded.PhoneNumberThirtySecondLimit",
                "bad-number": "InvalidParameterValue.IncorrectPhoneNumber"}.get(step, "Ok")  # fmt: skip
        self.provider.counter += 1
        if code == "Ok":
            self.provider.accepted.append(request)
        self._answer(200, {"Response": {"RequestId": "r", "SendStatusSet": [{
            "SerialNo": f"5000:10417{self.provider.counter}" if code == "Ok" else "",
            "PhoneNumber": request["PhoneNumberSet"][0], "Fee": 1, "SessionContext": "",
            "Code": code, "Message": "send success" if code == "Ok" else "refused",
            "IsoCode": "CN"}]}})  # fmt: skip


@pytest.fixture
def provider(settings: Any) -> Iterator[Provider]:
    state = Provider()
    handler = type("BoundHandler", (Handler,), {"provider": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.SMS_ALIYUN_ENDPOINT = f"{base}/aliyun/"
    settings.SMS_ALIYUN_ACCESS_KEY_ID = ALIYUN_ID
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = ALIYUN_SECRET
    settings.SMS_ALIYUN_SIGN_NAME = "交管服务"
    settings.SMS_TENCENT_ENDPOINT = f"{base}/"
    settings.SMS_TENCENT_SECRET_ID = TENCENT_ID
    settings.SMS_TENCENT_SECRET_KEY = TENCENT_KEY
    settings.SMS_TENCENT_SDK_APP_ID = "1400000001"
    settings.SMS_TENCENT_SIGN_NAME = "交管服务"
    settings.SMS_TEMPLATES = {"login_code": "SMS_100", "*": "SMS_999"}
    settings.SMS_RECEIPT_TOKEN = RECEIPT_TOKEN
    yield state
    server.shutdown()
    server.server_close()


def _notice(kind: str = "login_code") -> SmsMessage:
    return queue_sms("13912345678", sms_text("Your code is %(code)s", code="246810"), kind=kind)


@pytest.mark.parametrize("backend", ["aliyun", "tencent"])
def test_a_signed_send_is_accepted_and_its_message_id_recorded(
    db: Any, settings: Any, provider: Provider, backend: str
) -> None:
    settings.SMS_BACKEND = backend
    message = _notice()
    assert delivery.deliver_pending() == 1
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.provider == backend
    assert message.provider_message_id and message.text == "" and message.recipient == ""
    [request] = provider.accepted
    if backend == "aliyun":
        assert request["PhoneNumbers"] == "13912345678" and request["TemplateCode"] == "SMS_100"
        param = json.loads(request["TemplateParam"])["content"]
    else:
        assert request["PhoneNumberSet"] == ["+8613912345678"]
        assert request["TemplateId"] == "SMS_100" and request["SmsSdkAppId"] == "1400000001"
        param = request["TemplateParamSet"][0]
    signature = in_sms_language(SMS_SIGNATURE)
    assert "246810" in param and not param.startswith(signature), "the provider adds it"


@pytest.mark.parametrize(
    ("backend", "secret_setting", "code"),
    [
        ("aliyun", "SMS_ALIYUN_ACCESS_KEY_SECRET", "SignatureDoesNotMatch"),
        ("tencent", "SMS_TENCENT_SECRET_KEY", "AuthFailure.SignatureFailure"),
    ],
)
def test_a_wrong_signature_gets_the_providers_refusal(
    db: Any, settings: Any, provider: Provider, backend: str, secret_setting: str, code: str
) -> None:
    settings.SMS_BACKEND = backend
    setattr(settings, secret_setting, "not-the-secret")
    message = _notice()
    assert delivery.deliver_pending() == 0
    message.refresh_from_db()
    assert provider.accepted == []
    assert message.status == SmsStatus.FAILED and message.error.startswith(code)
    assert message.attempts == 1, "wrong credentials are not tried again"


@pytest.mark.parametrize("backend", ["aliyun", "tencent"])
def test_a_fault_and_throttling_are_retried_with_back_off_then_sent(
    db: Any, settings: Any, provider: Provider, backend: str
) -> None:
    settings.SMS_BACKEND = backend
    settings.SMS_MAX_ATTEMPTS = 5
    provider.script = ["500", "throttle"]
    message = _notice()
    previous_wait = None
    for attempt in (1, 2):
        before = timezone.now()
        assert delivery.deliver_pending() == 0
        message.refresh_from_db()
        assert message.status == SmsStatus.QUEUED and message.attempts == attempt
        assert message.next_attempt_at is not None and message.next_attempt_at > before
        wait = message.next_attempt_at - before
        assert previous_wait is None or wait > previous_wait, "the back-off grows"
        previous_wait = wait
        assert delivery.deliver_pending() == 0, "nothing is sent before the back-off ends"
        SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver_pending() == 1
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 3
    assert len(provider.accepted) == 1, "sent once"
    assert delivery.deliver_pending() == 0


def test_the_retry_is_scheduled_as_a_task_after_the_back_off(
    db: Any, settings: Any, provider: Provider
) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.SMS_BACKEND = "aliyun"
    provider.script = ["throttle"]
    message = _notice()
    delivery.deliver_pending()
    message.refresh_from_db()
    task = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert task is not None and task.run_after == message.next_attempt_at


@pytest.mark.parametrize("backend", ["aliyun", "tencent"])
def test_a_permanent_error_fails_at_once_and_shows_on_the_staff_page(
    client: Client, users: dict[str, Any], settings: Any, provider: Provider, backend: str
) -> None:
    from trafficdesk.audit.models import AuditEntry

    settings.SMS_BACKEND = backend
    provider.script = ["bad-number"]
    message = _notice("booking.confirmed")
    assert delivery.deliver_pending() == 0
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.attempts == 1
    assert message.next_attempt_at is None, "not tried again"

    client.force_login(users["gz_admin"])
    page = client.get("/admin/notify/smsmessage/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = page.content.decode()
    assert page.status_code == 200 and "手机号码无效" in text and "13912345678" not in text
    assert "retry_now" in text

    answer = client.post(
        "/admin/notify/smsmessage/",
        {"action": "retry_now", "_selected_action": [message.pk]},
    )
    assert answer.status_code == 302
    message.refresh_from_db()
    assert message.status == SmsStatus.QUEUED and message.attempts == 0
    assert AuditEntry.objects.filter(action="notify.retry", object_id=str(message.pk)).exists()
    assert delivery.deliver_pending() == 1
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT


def test_a_failed_login_code_is_not_kept_nor_sent_again(
    users: dict[str, Any], settings: Any, provider: Provider
) -> None:
    """A login code that could not be sent is useless minutes later: its text is dropped at
    once, and "retry now" has nothing to send."""
    from trafficdesk.notify.services import retry_failed

    settings.SMS_BACKEND = "aliyun"
    provider.script = ["bad-number"]
    message = _notice("login_code")
    assert delivery.deliver_pending() == 0
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and message.text == ""
    assert retry_failed(users["gz_admin"], message) is False


def test_an_auditor_reads_the_failure_but_cannot_retry(
    client: Client, users: dict[str, Any], settings: Any, provider: Provider
) -> None:
    settings.SMS_BACKEND = "aliyun"
    provider.script = ["bad-number"]
    message = _notice()
    delivery.deliver_pending()
    client.force_login(users["auditor"])
    page = client.get("/admin/notify/smsmessage/")
    assert page.status_code == 200 and "retry_now" not in page.content.decode()
    client.post(
        "/admin/notify/smsmessage/", {"action": "retry_now", "_selected_action": [message.pk]}
    )
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED


def _sent(settings: Any, backend: str) -> SmsMessage:
    settings.SMS_BACKEND = backend
    message = _notice()
    delivery.deliver_pending()
    message.refresh_from_db()
    assert message.provider_message_id
    return message


def test_an_aliyun_receipt_marks_the_notice_delivered(
    client: Client, db: Any, settings: Any, provider: Provider
) -> None:
    message = _sent(settings, "aliyun")
    report = [{"phone_number": "13912345678", "send_time": "2026-12-01 10:00:00",
               "report_time": "2026-12-01 10:00:05", "success": True, "err_code": "DELIVERED",
               "err_msg": "用户接收成功", "sms_size": "1", "biz_id": message.provider_message_id,
               "out_id": ""}]  # fmt: skip
    answer = client.post(
        f"/notify/receipts/aliyun/{RECEIPT_TOKEN}/", json.dumps(report), "application/json"
    )
    assert answer.status_code == 200 and answer.json()["code"] == 0
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.DELIVERED and message.delivered_at


def test_a_tencent_receipt_records_delivered_and_undelivered(
    client: Client, db: Any, settings: Any, provider: Provider
) -> None:
    first, second = _sent(settings, "tencent"), _sent(settings, "tencent")
    reports = [
        {"user_receive_time": "2026-12-01 10:00:05", "nationcode": "86", "mobile": "13912345678",
         "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功",
         "sid": first.provider_message_id},
        {"user_receive_time": "2026-12-01 10:00:06", "nationcode": "86", "mobile": "13912345678",
         "report_status": "FAIL", "errmsg": "MK:0001", "description": "用户短信未送达",
         "sid": second.provider_message_id},
    ]  # fmt: skip
    answer = client.post(
        f"/notify/receipts/tencent/{RECEIPT_TOKEN}/", json.dumps(reports), "application/json"
    )
    assert answer.status_code == 200 and answer.json() == {"result": 0, "errmsg": "OK"}
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.delivery_status == DeliveryStatus.DELIVERED
    assert second.delivery_status == DeliveryStatus.UNDELIVERED and "MK:0001" in second.error


@pytest.mark.parametrize("backend", ["aliyun", "tencent"])
def test_a_forged_receipt_is_refused(
    client: Client, db: Any, settings: Any, provider: Provider, backend: str
) -> None:
    message = _sent(settings, backend)
    key = "biz_id" if backend == "aliyun" else "sid"
    report = json.dumps([{key: message.provider_message_id, "success": True,
                          "report_status": "SUCCESS"}])  # fmt: skip
    for token in ("wrong-token", RECEIPT_TOKEN[:-1]):
        answer = client.post(f"/notify/receipts/{backend}/{token}/", report, "application/json")
        assert answer.status_code == 404
    settings.SMS_RECEIPT_TOKEN = ""
    answer = client.post(f"/notify/receipts/{backend}/{RECEIPT_TOKEN}/", report, "application/json")
    assert answer.status_code == 404, "no token configured: the endpoint is off"
    message.refresh_from_db()
    assert message.delivery_status == "" and message.delivered_at is None
