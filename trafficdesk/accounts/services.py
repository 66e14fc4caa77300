"""Accounts: the citizen's SMS one-time-code login and the making of staff accounts (the
staff app manages them). Who may do what is
decided in `accounts.access`."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from trafficdesk.accounts import access
from trafficdesk.accounts.models import STAFF_ROLES, OtpChallenge, Role, User
from trafficdesk.core.actions import Action
from trafficdesk.core.identity import keyed_digest
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.ratelimits import RateLimited
from trafficdesk.core.validators import mask_mobile, normalise_mobile
from trafficdesk.notify.services import queue_sms, sms_text

if TYPE_CHECKING:
    pass

LOGIN_CODE_SMS = _(
    "Your login code is %(code)s, valid for %(minutes)s minutes. Do not tell it to anyone."
)

# --- citizen login by SMS one-time code ---------------------------------------------------


class OtpRejected(Exception):
    """The code is wrong, expired, used up or was never sent. One message for all, on purpose."""


def generate_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


@dataclass(frozen=True)
class OtpSent:
    masked_mobile: str
    expires_in_seconds: int


DAILY_CAP_REFUSAL = _(
    "This number has been sent %(limit)s codes in the last 24 hours. "
    "Try again after %(when)s, or ask at a service hall."
)
DAY = timedelta(hours=24)


def check_daily_cap(digest: str) -> None:
    """At most OTP_DAILY_LIMIT_PER_PHONE codes to one number in any 24 hours, counted from the
    stored challenges (used or not); the refusal says when the oldest of them leaves the window."""
    limit = settings.OTP_DAILY_LIMIT_PER_PHONE
    since = timezone.now() - DAY
    recent = OtpChallenge.objects.filter(phone_digest=digest, created_at__gt=since)
    if recent.count() < limit:
        return
    oldest = recent.order_by("-created_at").values_list("created_at", flat=True)[limit - 1]
    retry = oldest + DAY
    local = timezone.localtime(retry)
    when = date_format(local, "H:i")
    if local.date() != timezone.localdate():
        when = f"{date_format(local, 'DATE_FORMAT')} {when}"
    seconds = max(1, int((retry - timezone.now()).total_seconds()) + 1)
    raise RateLimited(DAILY_CAP_REFUSAL % {"limit": limit, "when": when}, seconds)


def request_login_code(mobile: str) -> OtpSent:
    """Send a fresh code to any valid mainland number, known or not (the answer is the same).
    The SMS is written to the outbox with the code and sent after the commit. Over the daily
    cap of the number, RateLimited (nothing is sent)."""
    phone = normalise_mobile(mobile)
    code = generate_code()
    lifetime = settings.OTP_LIFETIME_SECONDS
    digest = keyed_digest(phone)
    check_daily_cap(digest)
    with locking_transaction():
        OtpChallenge.objects.filter(phone_digest=digest, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        OtpChallenge.objects.create(
            phone_digest=digest,
            code_digest=keyed_digest(f"{phone}:{code}"),
            expires_at=timezone.now() + timedelta(seconds=lifetime),
        )
        queue_sms(
            phone,
            sms_text(LOGIN_CODE_SMS, code=code, minutes=lifetime // 60),
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


def _consume_code(phone: str, code: str) -> User | None:
    with locking_transaction():
        challenge = (
            OtpChallenge.objects.select_for_update()
            .filter(
                phone_digest=keyed_digest(phone),
                used_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
            .order_by("-created_at")
            .first()
        )
        if challenge is None or challenge.attempts >= settings.OTP_MAX_ATTEMPTS:
            return None
        if not hmac.compare_digest(keyed_digest(f"{phone}:{code}"), challenge.code_digest):
            OtpChallenge.objects.filter(pk=challenge.pk).update(attempts=challenge.attempts + 1)
            return None
        if (
            OtpChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(
                used_at=timezone.now()
            )
            != 1
        ):
            return None
        user = citizen_for(phone)
    if not access.allows(user, Action.SMS_LOGIN):
        return None
    return user


def citizen_for(phone: str) -> User:
    """The citizen account of a (normalised) mobile number, created on first use."""
    user, created = User.objects.get_or_create(
        mobile=phone,
        defaults={"username": f"citizen-{secrets.token_hex(6)}", "role": Role.CITIZEN},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


# --- staff accounts -----------------------------------------------------------------------


def create_staff_user(
    username: str, password: str, role: str, region: Any, *, full_name: str = ""
) -> User:
    if role not in STAFF_ROLES:
        raise ValueError(f"{role} is not a staff role")
    first, _sep, last = full_name.partition(" ")
    user = User(username=username, role=role, region=region, first_name=first, last_name=last)
    user.is_staff = access.is_staff_role(role)
    user.set_password(password)
    user.save()
    return user
