"""Rate limits on the login endpoints (django-ratelimit over the default cache: Redis or the
database)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

from trafficdesk.accounts.services import _digest
from trafficdesk.core.middleware import client_ip


def _ip(_group: str, request: HttpRequest) -> str:
    """The caller's address; requests without one (unix sockets) share one bucket."""
    return client_ip(request) or "unknown"


def otp_request_limited(request: HttpRequest, mobile: str) -> bool:
    """True when this phone or this address asked for too many codes. Counts every attempt."""
    by_phone = is_ratelimited(
        request,
        group="otp-phone",
        key=lambda _group, _request: _digest(mobile),
        rate=settings.OTP_RATE_PER_PHONE,
        increment=True,
    )
    by_ip = is_ratelimited(
        request, group="otp-ip", key=_ip, rate=settings.OTP_RATE_PER_IP, increment=True
    )
    return bool(by_phone or by_ip)


def otp_verify_limited(request: HttpRequest) -> bool:
    return bool(
        is_ratelimited(request, group="otp-verify-ip", key=_ip, rate="30/10m", increment=True)
    )
