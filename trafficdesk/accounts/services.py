"""Who may act where, and the citizen's SMS one-time-code login."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.accounts.models import Role, User
from trafficdesk.audit.services import record
from trafficdesk.core.validators import mask_mobile, normalise_mobile
from trafficdesk.notify.services import send_sms

if TYPE_CHECKING:
    from trafficdesk.regions.models import Region


class OutOfRegion(PermissionDenied):
    """A staff member tried to act on a region outside their authority."""


class WrongRole(PermissionDenied):
    """The action needs another role."""


def require_role(actor: Any, *roles: str) -> None:
    if getattr(actor, "is_superuser", False):
        return
    if getattr(actor, "role", None) not in roles:
        raise WrongRole(
            _("This action needs one of these roles: %(roles)s.") % {"roles": ", ".join(roles)}
        )


def can_act_in(actor: Any, region: Region) -> bool:
    if getattr(actor, "is_superuser", False):
        return True
    own = getattr(actor, "region", None)
    return own is not None and own.contains(region)


def ensure_can_act_in(actor: Any, region: Region, *, action: str) -> None:
    """Refuse, and audit the refusal, when `region` lies outside the actor's own region."""
    if can_act_in(actor, region):
        return
    own = getattr(actor, "region", None)
    record(
        actor,
        action,
        target=region,
        summary=f"refused: {region.code} is outside {own.code if own else 'no region'}",
        outcome="denied",
    )
    raise OutOfRegion(
        _("%(region)s is outside your region of authority (%(own)s).")
        % {"region": str(region), "own": str(own) if own else _("none")}
    )


# --- citizen login by SMS one-time code ---------------------------------------------------


class OtpRejected(Exception):
    """The code is wrong, expired, used up or was never sent. One message for all, on purpose."""


def _digest(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def generate_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


@dataclass(frozen=True)
class OtpSent:
    masked_mobile: str
    expires_in_seconds: int


@transaction.atomic
def request_login_code(mobile: str) -> OtpSent:
    """Send a fresh code to any valid mainland number, known or not (the answer is the same)."""
    phone = normalise_mobile(mobile)
    code = generate_code()
    lifetime = settings.OTP_LIFETIME_SECONDS
    from trafficdesk.accounts.models import OtpChallenge

    OtpChallenge.objects.filter(phone_digest=_digest(phone), used_at__isnull=True).update(
        used_at=timezone.now()
    )
    OtpChallenge.objects.create(
        phone_digest=_digest(phone),
        code_digest=_digest(f"{phone}:{code}"),
        expires_at=timezone.now() + timedelta(seconds=lifetime),
    )
    minutes = lifetime // 60
    send_sms(
        phone,
        f"【交管服务】您的登录验证码为 {code}，{minutes} 分钟内有效。请勿告诉他人。",
        kind="login_code",
        secret=code,
    )
    return OtpSent(masked_mobile=mask_mobile(phone), expires_in_seconds=lifetime)


def verify_login_code(mobile: str, code: str) -> User:
    """Return the citizen for this number (creating the account on first login) or refuse.

    A wrong code still commits its attempt count, so the refusal is raised after the
    transaction ends."""
    phone = normalise_mobile(mobile)
    user = _consume_code(phone, code.strip())
    if user is None:
        raise OtpRejected
    return user


@transaction.atomic
def _consume_code(phone: str, code: str) -> User | None:
    from trafficdesk.accounts.models import OtpChallenge

    challenge = (
        OtpChallenge.objects.select_for_update()
        .filter(phone_digest=_digest(phone), used_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )
    if challenge is None or challenge.attempts >= settings.OTP_MAX_ATTEMPTS:
        return None
    if not hmac.compare_digest(_digest(f"{phone}:{code}"), challenge.code_digest):
        challenge.attempts += 1
        challenge.save(update_fields=["attempts"])
        return None
    challenge.used_at = timezone.now()
    challenge.save(update_fields=["used_at"])
    user, created = User.objects.get_or_create(
        mobile=phone,
        defaults={"username": f"citizen-{secrets.token_hex(6)}", "role": Role.CITIZEN},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if user.role != Role.CITIZEN or not user.is_active:
        return None
    return user


def reveal_mobile(actor: Any, subject: User) -> str:
    """Show a person's full number to staff; every such view is audited."""
    require_role(actor, Role.CLERK, Role.HALL_MANAGER, Role.REGIONAL_ADMIN)
    record(actor, "personal_data.view", target=subject, summary="viewed unmasked mobile number")
    return subject.mobile or ""


# --- staff accounts and role groups -------------------------------------------------------


def sync_role_groups() -> None:
    """Create one auth group per role holding exactly that role's admin permissions."""
    from django.contrib.auth.models import Group, Permission

    from trafficdesk.accounts.roles import ROLE_PERMISSIONS

    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=f"role:{role}")
        wanted: list[Permission] = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


@transaction.atomic
def create_staff_user(
    username: str, password: str, role: str, region: Region | None, *, full_name: str = ""
) -> User:
    from django.contrib.auth.models import Group

    from trafficdesk.accounts.models import ADMIN_SITE_ROLES, STAFF_ROLES

    if role not in STAFF_ROLES:
        raise ValueError(f"{role} is not a staff role")
    first, _sep, last = full_name.partition(" ")
    user = User(username=username, role=role, region=region, first_name=first, last_name=last)
    user.is_staff = role in ADMIN_SITE_ROLES
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=f"role:{role}")])
    return user
