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

from trafficdesk.accounts import access, realname, services, verifiers
from trafficdesk.core import ratelimits
from trafficdesk.core.actions import Action
from trafficdesk.core.problems import Problem
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


# --- real-name booking (accounts.realname) ------------------------------------------------------


class IdentityIn(Schema):
    id_number: str
    name: str = ""


class FamilyMemberOut(Schema):
    id: int
    relation: str
    relation_label: str
    id_masked: str
    name_masked: str
    verified_at: str


class IdentityOut(Schema):
    bound: bool
    id_masked: str | None
    name_masked: str | None
    verified_at: str | None
    family: list[FamilyMemberOut]
    name_required: bool
    """Whether the identity verifier needs the name with the ID number."""


class FamilyIn(Schema):
    id_number: str
    name: str = ""
    relation: str


_REALNAME_ERRORS = {401: Problem, 403: Problem, 409: Problem, 422: Problem, 503: Problem}


def _member_out(member: Any) -> dict[str, Any]:
    return {
        "id": member.pk,
        "relation": member.relation,
        "relation_label": realname.relation_label(member.relation),
        "id_masked": member.id_masked,
        "name_masked": member.name_masked,
        "verified_at": member.verified_at.isoformat(),
    }


def _identity_out(user: Any) -> dict[str, Any]:
    identity = realname.identity_of(user)
    return {
        "bound": identity is not None,
        "id_masked": identity.id_masked if identity else None,
        "name_masked": identity.name_masked if identity else None,
        "verified_at": identity.verified_at.isoformat() if identity else None,
        "family": [_member_out(m) for m in realname.family_of(user)],
        "name_required": verifiers.configured().requires_name,
    }


@router.get("/identity", response={200: IdentityOut, **_REALNAME_ERRORS}, auth=django_auth)
def identity_state(request: HttpRequest) -> Any:
    """The account's bound ID number and family members, masked."""
    access.check(request.user, Action.REALNAME_MANAGE)
    return _identity_out(request.user)


@router.post("/identity", response={200: IdentityOut, **_REALNAME_ERRORS}, auth=django_auth)
def bind_identity(request: HttpRequest, payload: IdentityIn) -> Any:
    """Bind the account's resident ID number (verified; once)."""
    realname.bind_identity(request.user, payload.id_number, payload.name)  # type: ignore[arg-type]
    return _identity_out(request.user)


@router.get("/family", response={200: list[FamilyMemberOut], **_REALNAME_ERRORS}, auth=django_auth)
def family(request: HttpRequest) -> Any:
    access.check(request.user, Action.REALNAME_MANAGE)
    return [_member_out(m) for m in realname.family_of(request.user)]  # type: ignore[arg-type]


@router.post("/family", response={201: FamilyMemberOut, **_REALNAME_ERRORS}, auth=django_auth)
def declare_family_member(request: HttpRequest, payload: FamilyIn) -> Any:
    """Declare a family member this account may book for (verified)."""
    member = realname.declare_family_member(
        request.user,  # type: ignore[arg-type]
        payload.id_number,
        payload.name,
        payload.relation,
    )
    return Status(201, _member_out(member))


@router.delete(
    "/family/{member_id}",
    response={204: None, 404: Problem, **_REALNAME_ERRORS},
    auth=django_auth,
)
def remove_family_member(request: HttpRequest, member_id: int) -> Any:
    realname.remove_family_member(request.user, member_id)  # type: ignore[arg-type]
    return Status(204, None)
