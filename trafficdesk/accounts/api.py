from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Router, Schema, Status
from ninja.security import django_auth

from trafficdesk.accounts import services
from trafficdesk.core import ratelimits
from trafficdesk.core.validators import normalise_mobile

router = Router(tags=["accounts"])

LOGIN_CSRF_REFUSAL = gettext_lazy(
    "This login request did not come from this site, so it was refused. "
    "Log in on the site's own login page."
)


def require_same_site_json(request: HttpRequest) -> None:
    """The login routes take no session, so Django's CSRF check does not guard them: a
    cross-site form (text/plain, urlencoded, multipart) could log a victim's browser into an
    attacker's account. They are refused unless the body is declared application/json (a
    cross-site page cannot send that without a CORS preflight, which this site never grants)
    and, when the browser names where the request came from (Origin, else Referer), that is
    this site or a CSRF_TRUSTED_ORIGINS entry."""
    content_type = request.content_type or ""
    same_site = content_type.lower() == "application/json"
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if same_site and origin and origin != "null":
        parts = urlsplit(origin)
        host = request.get_host()
        trusted = {urlsplit(o).netloc for o in settings.CSRF_TRUSTED_ORIGINS}
        same_site = parts.netloc == host or parts.netloc in trusted
    elif origin == "null":
        same_site = False
    if not same_site:
        raise PermissionDenied(str(LOGIN_CSRF_REFUSAL))


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


@router.post(
    "/otp/request",
    response={200: OtpRequestOut, 403: Problem, 422: Problem, 429: Problem},
    auth=None,
)
def request_code(request: HttpRequest, payload: OtpRequestIn) -> Any:
    """Send a login code by SMS. The answer is the same whether or not the number has an account.
    The body must be JSON from this site (or a client that names no origin)."""
    require_same_site_json(request)
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
    "/otp/verify",
    response={200: MeOut, 400: Problem, 403: Problem, 422: Problem, 429: Problem},
    auth=None,
)
def verify_code(request: HttpRequest, payload: OtpVerifyIn) -> Any:
    """Log in with the code; the session cookie is set on success. The body must be JSON from
    this site (or a client that names no origin)."""
    require_same_site_json(request)
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
