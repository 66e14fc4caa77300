"""SMS gateways of the providers the bureaus use: Alibaba Cloud SMS (SendSms 2017-05-25,
signature V1, HMAC-SHA1) and Tencent Cloud SMS (SendSms 2021-01-11, TC3-HMAC-SHA256).

Both speak their documented HTTP API with the standard library (their official SDKs pull in
many packages for one call). A gateway's `send(phone, text, kind=...)` returns the provider's
message id (Alibaba's BizId, Tencent's SerialNo, which its receipts call sid) or raises a
`TransientGatewayError` (tried again later, with back-off) or a `PermanentGatewayError`
(the notice fails at once). The carriers send only approved templates: each notice kind
names one (SMS_TEMPLATES; "*" for the others), whose one variable is the notice's text.

Settings (environment, README "Configuration"): SMS_ALIYUN_ACCESS_KEY_ID/_SECRET/_SIGN_NAME/
_REGION/_ENDPOINT, SMS_TENCENT_SECRET_ID/_KEY/_SDK_APP_ID/_SIGN_NAME/_REGION/_ENDPOINT,
SMS_TEMPLATES, SMS_TEMPLATE_PARAM, SMS_GATEWAY_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings


class GatewayError(Exception):
    """A send that did not go out: `code` is the provider's (or "network", "http-503")."""

    transient = True

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class TransientGatewayError(GatewayError):
    """Worth trying again later: the network, a 5xx, throttling."""


class PermanentGatewayError(GatewayError):
    """Trying again will not help: a wrong number, a template or signature problem."""

    transient = False


#: Provider codes that mean "later": throttling and the providers' own failures.
TRANSIENT_CODES = frozenset(
    {
        # Alibaba Cloud
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isp.SYSTEM_ERROR",
        "isp.RAM_PERMISSION_DENY_TEMP",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "InternalError",
        # Tencent Cloud
        "LimitExceeded",
        "RequestLimitExceeded",
        "FailedOperation.FailResolvePacket",
        "UnknownError",
    }
)
TRANSIENT_PREFIXES = ("LimitExceeded.", "InternalError.", "RequestLimitExceeded.", "Throttling.")


def classify(code: str, detail: str = "") -> GatewayError:
    """The error for a provider's refusal `code`."""
    if code in TRANSIENT_CODES or code.startswith(TRANSIENT_PREFIXES):
        return TransientGatewayError(code, detail)
    return PermanentGatewayError(code, detail)


def template_for(kind: str) -> str:
    templates: dict[str, str] = settings.SMS_TEMPLATES
    code = templates.get(kind) or templates.get("*")
    if not code:
        raise PermanentGatewayError("no-template", f"no SMS template for the kind {kind!r}")
    return code


def template_text(text: str) -> str:
    """The notice without the signature it opens with: the provider adds its SignName."""
    # local import: services imports the outbox, which imports this module's users
    from trafficdesk.notify.services import SMS_SIGNATURE, in_sms_language

    signature = in_sms_language(SMS_SIGNATURE)
    return text[len(signature) :] if text.startswith(signature) else text


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST and read a JSON answer; a network failure or a 5xx is transient."""
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise PermanentGatewayError("gateway.address", f"not an http(s) address: {url}")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(  # noqa: S310  # nosec B310 - http(s) only, checked above
            request, timeout=settings.SMS_GATEWAY_TIMEOUT_SECONDS
        ) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (OSError, TimeoutError) as exc:
        raise TransientGatewayError("network", str(exc)[:200]) from exc
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {}
    if status >= 500 and not isinstance(answer, dict):
        raise TransientGatewayError(f"http-{status}")
    if not isinstance(answer, dict):
        raise PermanentGatewayError(f"http-{status}", "the answer is not a JSON object")
    if status >= 500 and not answer:
        raise TransientGatewayError(f"http-{status}")
    return status, answer


# --- Alibaba Cloud ----------------------------------------------------------------------------


def aliyun_encode(value: str) -> str:
    """Alibaba's percent-encoding: RFC 3986, only A-Z a-z 0-9 - _ . ~ left as they are."""
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Signature V1: Base64(HMAC-SHA1(secret + "&", METHOD&%2F&encode(sorted query)))."""
    query = "&".join(
        f"{aliyun_encode(k)}={aliyun_encode(v)}"
        for k, v in sorted(params.items())
        if k != "Signature"
    )
    to_sign = f"{method}&{aliyun_encode('/')}&{aliyun_encode(query)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsGateway:
    """Alibaba Cloud SMS, SendSms (RPC style, form-encoded POST to dysmsapi.aliyuncs.com)."""

    provider = "aliyun"

    def send(self, phone: str, text: str, *, kind: str = "") -> str:
        params = {
            "AccessKeyId": settings.SMS_ALIYUN_ACCESS_KEY_ID,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": settings.SMS_ALIYUN_REGION,
            "SignName": settings.SMS_ALIYUN_SIGN_NAME,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template_for(kind),
            "TemplateParam": json.dumps(
                {settings.SMS_TEMPLATE_PARAM: template_text(text)}, ensure_ascii=False
            ),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, settings.SMS_ALIYUN_ACCESS_KEY_SECRET)
        body = "&".join(f"{aliyun_encode(k)}={aliyun_encode(v)}" for k, v in params.items())
        status, answer = _post(
            settings.SMS_ALIYUN_ENDPOINT,
            body.encode(),
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        code = str(answer.get("Code", f"http-{status}"))
        if code == "OK" and answer.get("BizId"):
            return str(answer["BizId"])
        if status >= 500 and code.startswith("http-"):
            raise TransientGatewayError(code)
        raise classify(code, str(answer.get("Message", ""))[:200])


# --- Tencent Cloud ----------------------------------------------------------------------------

TENCENT_SERVICE = "sms"
TENCENT_VERSION = "2021-01-11"
TENCENT_CONTENT_TYPE = "application/json; charset=utf-8"


def tencent_authorization(
    *, secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int
) -> str:
    """TC3-HMAC-SHA256 over POST / with the signed headers content-type and host."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{TENCENT_CONTENT_TYPE}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{date}/{TENCENT_SERVICE}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )

    def _hmac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    signing = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), TENCENT_SERVICE), "tc3_request")
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


def e164(phone: str) -> str:
    return phone if phone.startswith("+") else f"+86{phone}"


class TencentSmsGateway:
    """Tencent Cloud SMS, SendSms 2021-01-11 (JSON POST to sms.tencentcloudapi.com)."""

    provider = "tencent"

    def send(self, phone: str, text: str, *, kind: str = "") -> str:
        url = settings.SMS_TENCENT_ENDPOINT
        host = urllib.parse.urlsplit(url).netloc
        payload = json.dumps(
            {
                "PhoneNumberSet": [e164(phone)],
                "SmsSdkAppId": settings.SMS_TENCENT_SDK_APP_ID,
                "SignName": settings.SMS_TENCENT_SIGN_NAME,
                "TemplateId": template_for(kind),
                "TemplateParamSet": [template_text(text)],
            },
            ensure_ascii=False,
        ).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": TENCENT_CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": TENCENT_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": settings.SMS_TENCENT_REGION,
            "Authorization": tencent_authorization(
                secret_id=settings.SMS_TENCENT_SECRET_ID,
                secret_key=settings.SMS_TENCENT_SECRET_KEY,
                host=host,
                payload=payload,
                timestamp=timestamp,
            ),
        }
        status, answer = _post(url, payload, headers)
        response = answer.get("Response") or {}
        error = response.get("Error") if isinstance(response, dict) else None
        if isinstance(error, dict):
            raise classify(str(error.get("Code", "")), str(error.get("Message", ""))[:200])
        statuses = response.get("SendStatusSet") if isinstance(response, dict) else None
        if not statuses:
            if status >= 500:
                raise TransientGatewayError(f"http-{status}")
            raise PermanentGatewayError(f"http-{status}", "no SendStatusSet in the answer")
        first = statuses[0]
        code = str(first.get("Code", ""))
        if code == "Ok" and first.get("SerialNo"):
            return str(first["SerialNo"])
        raise classify(code, str(first.get("Message", ""))[:200])


#: The names SMS_BACKEND may give instead of a dotted path.
ALIASES = {
    "console": "trafficdesk.notify.backends.ConsoleSmsBackend",
    "memory": "trafficdesk.notify.backends.MemorySmsBackend",
    "aliyun": "trafficdesk.notify.gateways.AliyunSmsGateway",
    "tencent": "trafficdesk.notify.gateways.TencentSmsGateway",
}
