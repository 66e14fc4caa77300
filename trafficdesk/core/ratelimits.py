"""Every rate limit, applied alike to the pages and the API (django-ratelimit over the
default cache: Redis or the database). Over the limit raises `RateLimited`, which the API
answers with 429 and Retry-After and pages with a "wait a moment" page."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import is_ratelimited

from trafficdesk.core.clientip import client_ip
from trafficdesk.core.identity import keyed_digest


class RateLimited(Exception):
    def __init__(self, message: Promise | str, retry_after_seconds: int) -> None:
        super().__init__(str(message))
        self.message = message
        self.retry_after_seconds = retry_after_seconds

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class Limit:
    """A limit whose rate ("30/10m": 30 per 10 minutes) is the setting `rate_setting`; the
    refusal asks to wait `wait_seconds`, by default the rate's period (Retry-After)."""

    group: str
    rate_setting: str
    message: Promise
    wait_seconds: int | None = None

    @property
    def retry_after_seconds(self) -> int:
        if self.wait_seconds is not None:
            return self.wait_seconds
        _count, seconds = rate_parts(getattr(settings, self.rate_setting))
        return seconds


def rate_parts(rate: str) -> tuple[int, int]:
    """A django-ratelimit rate ("30/10m") as (count, period in seconds)."""
    count, _sep, period = rate.partition("/")
    multiple = period[:-1] if period[-1:].isalpha() else period
    unit = period[-1:].lower() if period[-1:].isalpha() else "s"
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    return int(count), seconds * int(multiple or 1)


OTP_PER_PHONE = Limit(
    "otp-phone", "OTP_RATE_PER_PHONE", _("Too many codes requested; try again later.")
)
OTP_PER_IP = Limit("otp-ip", "OTP_RATE_PER_IP", _("Too many codes requested; try again later."))
OTP_VERIFY_PER_IP = Limit(
    "otp-verify-ip", "OTP_RATE_VERIFY_PER_IP", _("Too many attempts; try again later.")
)
BOOKING_PER_USER = Limit(
    "booking", "BOOKING_RATE_PER_USER", _("Too many booking requests; wait a minute."), 60
)
CHECKPOINT_REGISTRATION_PER_IP = Limit(
    "checkpoint-registration",
    "CHECKPOINT_RATE_PER_IP",
    _(
        "Too many registrations from this connection. Wait a few minutes and try again, "
        "or register with the officer at the checkpoint."
    ),
)

KIOSK_PER_DEVICE = Limit(
    "kiosk-device",
    "KIOSK_RATE_PER_DEVICE",
    _(
        "This kiosk has issued a great many tickets in a short time, so it pauses for a "
        "moment. Try again in a minute, or ask at the information desk."
    ),
)


def _ip(_group: str, request: HttpRequest) -> str:
    """The caller's address; requests without one (unix sockets) share one bucket."""
    return client_ip(request) or "unknown"


def _user(_group: str, request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{_ip(_group, request)}"


def _hit(request: HttpRequest, limit: Limit, key: object) -> bool:
    return bool(
        is_ratelimited(
            request,
            group=limit.group,
            key=key,
            rate=getattr(settings, limit.rate_setting),
            increment=True,
        )
    )


def _refuse(limit: Limit) -> RateLimited:
    return RateLimited(limit.message, limit.retry_after_seconds)


def check_otp_request(request: HttpRequest, mobile: str) -> None:
    """A code request, counted per phone and per address (every attempt counts)."""
    by_phone = _hit(request, OTP_PER_PHONE, lambda _g, _r: keyed_digest(mobile))
    by_ip = _hit(request, OTP_PER_IP, _ip)
    if by_phone or by_ip:
        raise _refuse(OTP_PER_PHONE if by_phone else OTP_PER_IP)


def check_otp_verify(request: HttpRequest) -> None:
    if _hit(request, OTP_VERIFY_PER_IP, _ip):
        raise _refuse(OTP_VERIFY_PER_IP)


def check_checkpoint_registration(request: HttpRequest) -> None:
    """An anonymous checkpoint registration (page or API), counted per address."""
    if _hit(request, CHECKPOINT_REGISTRATION_PER_IP, _ip):
        raise _refuse(CHECKPOINT_REGISTRATION_PER_IP)


def check_booking(request: HttpRequest) -> None:
    """A booking attempt by this user (page or API)."""
    if _hit(request, BOOKING_PER_USER, _user):
        raise _refuse(BOOKING_PER_USER)


def check_kiosk(request: HttpRequest, device_key: str) -> None:
    """A ticket (walk-in or check-in) from one registered kiosk (page or API), counted per
    kiosk: a kiosk that is taken over cannot fill a zone."""
    if _hit(request, KIOSK_PER_DEVICE, lambda _g, _r: f"kiosk:{device_key}"):
        raise _refuse(KIOSK_PER_DEVICE)
