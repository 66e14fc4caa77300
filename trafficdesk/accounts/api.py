from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.security import django_auth

from trafficdesk.accounts import services
from trafficdesk.core import ratelimits
from trafficdesk.core.validators import normalise_mobile

router = Router(tags=["accounts"])


class OtpRequestIn(Schema):
    mobile: str


class OtpRequestOut(Schema):
    detail: str
    masked_mobile: str
    expires_in_seconds: int


class OtpVerifyIn(Schema):
    mobile: str
    code: str


class Problem(Schema):
    code: str
    detail: str


class MeOut(Schema):
    username: str
    role: str
    display_name: str
    region: str | None


@router.post("/otp/request", response={200: OtpRequestOut, 422: Problem, 429: Problem}, auth=None)
def request_code(request: HttpRequest, payload: OtpRequestIn) -> Any:
    """Send a login code by SMS. The answer is the same whether or not the number has an account."""
    mobile = normalise_mobile(payload.mobile)
    ratelimits.check_otp_request(request, mobile)
    sent = services.request_login_code(mobile)
    return Status(
        200,
        {
            "detail": _("If the number can receive SMS, a code is on its way."),
            "masked_mobile": sent.masked_mobile,
            "expires_in_seconds": sent.expires_in_seconds,
        },
    )


@router.post(
    "/otp/verify", response={200: MeOut, 400: Problem, 422: Problem, 429: Problem}, auth=None
)
def verify_code(request: HttpRequest, payload: OtpVerifyIn) -> Any:
    """Log in with the code; the session cookie is set on success."""
    ratelimits.check_otp_verify(request)
    try:
        user = services.verify_login_code(payload.mobile, payload.code)
    except services.OtpRejected:
        return Status(
            400, {"code": "otp_rejected", "detail": _("The code is wrong or has expired.")}
        )
    login(request, user, backend=settings.SESSION_AUTH_BACKEND)
    return Status(200, _me(user))


def _me(user: Any) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "display_name": user.display_name(),
        "region": user.region.code if user.region else None,
    }


@router.get("/me", response=MeOut, auth=django_auth)
def me(request: HttpRequest) -> Any:
    return _me(request.user)
