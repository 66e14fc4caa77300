"""Delivery receipts: the providers push them here (Alibaba Cloud's SmsReport, Tencent Cloud's
status callback). Neither signs these pushes, so the address carries a secret token
(SMS_RECEIPT_TOKEN; configured in the provider's console): a request without it is refused
(404, as if the address did not exist), and with no token set the endpoints are off."""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from trafficdesk.notify.services import record_receipt


def _reports(request: HttpRequest, token: str) -> list[dict[str, Any]] | None:
    """The pushed reports, after checking the token; None if the body is not a JSON list."""
    expected = settings.SMS_RECEIPT_TOKEN
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Http404
    try:
        body = json.loads(request.body or b"[]")
    except ValueError:
        return None
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
        return None
    return body


def _moment(text: object) -> datetime | None:
    """A provider's "2026-12-01 10:00:00" (China time) as an aware datetime."""
    moment = parse_datetime(str(text or "").strip())
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


@csrf_exempt
@require_POST
def aliyun_receipt(request: HttpRequest, token: str) -> JsonResponse | HttpResponseBadRequest:
    """Alibaba Cloud SmsReport: a list of {biz_id, success, err_code, report_time, …}."""
    reports = _reports(request, token)
    if reports is None:
        return HttpResponseBadRequest()
    for report in reports:
        record_receipt(
            "aliyun",
            str(report.get("biz_id", "")),
            delivered=report.get("success") in (True, "true", "True", 1),
            code=str(report.get("err_code", "")),
            at=_moment(report.get("report_time")),
        )
    return JsonResponse({"code": 0, "msg": "成功"})


@csrf_exempt
@require_POST
def tencent_receipt(request: HttpRequest, token: str) -> JsonResponse | HttpResponseBadRequest:
    """Tencent Cloud status callback: a list of {sid, report_status, errmsg, …}."""
    reports = _reports(request, token)
    if reports is None:
        return HttpResponseBadRequest()
    for report in reports:
        record_receipt(
            "tencent",
            str(report.get("sid", "")),
            delivered=str(report.get("report_status", "")).upper() == "SUCCESS",
            code=str(report.get("errmsg", "")),
            at=_moment(report.get("user_receive_time")),
        )
    return JsonResponse({"result": 0, "errmsg": "OK"})
