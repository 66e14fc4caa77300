"""Managing staff accounts: regional administrators create, change, deactivate, reset and
unlock the staff of their region (the staff pages and the API call these). Who may manage
whom is decided in `accounts.access`; every change is audited."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from axes.utils import reset as axes_reset
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from trafficdesk.accounts import access
from trafficdesk.accounts.models import Role, User
from trafficdesk.audit.services import record
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.locking import locking_transaction

if TYPE_CHECKING:
    from trafficdesk.regions.models import Region
    from trafficdesk.sites.models import ServicePoint, Window


#: The temporary password's alphabet: no look-alikes (0/O, 1/l/I), easy to read out.
TEMPORARY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
TEMPORARY_GROUPS, TEMPORARY_GROUP_LENGTH = 3, 4
#: Names the staff pages' addresses use (/accounts/staff/login/, /accounts/staff/new/).
RESERVED_USERNAMES = frozenset({"login", "new", "system", "anonymous"})


class StaffRefused(Refusal):
    """A staff account change the rules do not allow; the message says why, `field` which
    input is at fault."""

    code = "staff.invalid"
    status = 422

    def __init__(self, message: Any, field: str = "", code: str | None = None) -> None:
        super().__init__(message, code)
        self.field = field


@dataclass(frozen=True)
class StaffDetails:
    """What an administrator sets on a staff account (the username only when creating)."""

    full_name: str
    role: str
    region: Region | None
    service_point: ServicePoint | None = None
    windows: Sequence[Window] = field(default_factory=tuple)
    is_superuser: bool = False


def staff_queryset() -> Any:
    """Every staff account (and superuser), with what the staff pages show."""
    return (
        User.objects.exclude(role=Role.CITIZEN, is_superuser=False)
        .select_related("region", "service_point")
        .prefetch_related("windows", "windows__service_point")
        .order_by("username")
    )


class StaffNotFound(Refusal):
    """No staff account by that name (citizens' accounts are not staff accounts)."""

    code = "staff.not_found"
    status = 404


def find_staff(actor: access.Actor, username: str) -> User:
    """The staff account `username`, if `actor` may manage it (refused, audited, if not)."""
    access.check(actor, Action.STAFF_MANAGE)
    staff = staff_queryset().filter(username=username).first()
    if staff is None:
        raise StaffNotFound(_("There is no staff account with this username."))
    access.check_staff(actor, staff)
    return staff


def manageable_staff(actor: access.Actor) -> Any:
    """The staff accounts `actor` may manage."""
    return access.staff_scope(actor, staff_queryset())


def _check_details(actor: access.Actor, details: StaffDetails, staff: User | None) -> None:
    access.check(actor, Action.STAFF_MANAGE)
    if not access.is_assignable_staff_role(details.role):
        raise StaffRefused(_("Choose one of the staff roles."), "role")
    if details.region is None:
        raise StaffRefused(_("Choose the region of authority."), "region")
    access.check(actor, Action.STAFF_MANAGE, details.region)
    if details.is_superuser and not (staff is not None and staff.is_superuser):
        access.check_superuser_grant(actor)
    _check_point(details)
    if staff is not None and access.changes_own_role(actor, staff, details.role):
        raise StaffRefused(
            _("You cannot change your own role; ask another administrator."), "role", "staff.self"
        )


def _check_point(details: StaffDetails) -> None:
    point, region = details.service_point, details.region
    assert region is not None
    if point is None:
        if access.works_at_a_service_point(details.role):
            raise StaffRefused(
                _("A window clerk or a hall manager needs a service point."), "service_point"
            )
        if details.windows:
            raise StaffRefused(_("Choose the service point of these windows."), "service_point")
        return
    if not region.contains(point.region):
        raise StaffRefused(
            _("%(point)s is not inside the chosen region of authority.") % {"point": point.name},
            "service_point",
        )
    if any(window.service_point_id != point.pk for window in details.windows):
        raise StaffRefused(_("Choose windows of the chosen service point only."), "windows")


def _check_username(username: str) -> str:
    username = username.strip()
    if not username:
        raise StaffRefused(_("Enter a username."), "username")
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise StaffRefused(
            _("A username has letters, digits and @ . + - _ only."), "username"
        ) from exc
    if len(username) > 150:
        raise StaffRefused(_("A username has at most 150 characters."), "username")
    if (
        username.lower() in RESERVED_USERNAMES
        or User.objects.filter(username__iexact=username).exists()
    ):
        raise StaffRefused(_("This username is taken; choose another."), "username", "staff.taken")
    return username


def _apply(user: User, details: StaffDetails) -> None:
    first, _sep, last = details.full_name.strip().partition(" ")
    user.first_name, user.last_name = first[:150], last.strip()[:150]
    user.role, user.region, user.service_point = details.role, details.region, details.service_point
    user.is_superuser = details.is_superuser
    user.is_staff = details.is_superuser or access.is_staff_role(details.role)


def _describe(user: User) -> dict[str, Any]:
    return {
        "role": user.role,
        "region": user.region.code if user.region else None,
        "service_point": user.service_point.code if user.service_point else None,
        "windows": sorted(w.pk for w in user.windows.all()),
        "is_superuser": user.is_superuser,
        "is_active": user.is_active,
    }


@dataclass(frozen=True)
class StaffCreated:
    user: User
    temporary_password: str
    """Shown once to the administrator; the user must change it at the first login."""


def create_staff(actor: access.Actor, username: str, details: StaffDetails) -> StaffCreated:
    """A new, active staff account with a temporary password (changed at the first login)."""
    _check_details(actor, details, None)
    password = temporary_password()
    with locking_transaction():
        user = User(username=_check_username(username), must_change_password=True)
        _apply(user, details)
        user.set_password(password)
        user.save()
        user.windows.set(details.windows)
        record(
            actor, "accounts.staff.add", target=user, summary=user.username, detail=_describe(user)
        )
    return StaffCreated(user, password)


def edit_staff(actor: access.Actor, staff: User, details: StaffDetails) -> User:
    """Change a staff account's name, role, region, service point and windows."""
    access.check_staff(actor, staff)
    _check_details(actor, details, staff)
    with locking_transaction():
        before = _describe(staff)
        _apply(staff, details)
        staff.save(
            update_fields=[
                "first_name",
                "last_name",
                "role",
                "region",
                "service_point",
                "is_superuser",
                "is_staff",
            ]
        )
        staff.windows.set(details.windows)
        after = _describe(staff)
        changed = sorted(k for k in after if after[k] != before[k])
        record(
            actor,
            "accounts.staff.change",
            target=staff,
            summary=staff.username,
            detail={"fields": changed, "before": before, "after": after},
        )
    return staff


def set_staff_active(actor: access.Actor, staff: User, active: bool) -> User:
    """Deactivate (the account can no longer log in; its history stays) or reactivate."""
    access.check_staff(actor, staff)
    if not active and staff.pk == getattr(actor, "pk", None):
        raise StaffRefused(
            _("You cannot deactivate your own account; ask another administrator."),
            "is_active",
            "staff.self",
        )
    with locking_transaction():
        staff.is_active = active
        staff.save(update_fields=["is_active"])
        action = "accounts.staff.reactivate" if active else "accounts.staff.deactivate"
        record(actor, action, target=staff, summary=staff.username)
    return staff


def temporary_password() -> str:
    """A strong password to read out or hand over once: 12 characters from 56 (about 70 bits)."""
    groups = (
        "".join(secrets.choice(TEMPORARY_ALPHABET) for _i in range(TEMPORARY_GROUP_LENGTH))
        for _j in range(TEMPORARY_GROUPS)
    )
    return "-".join(groups)


def reset_staff_password(actor: access.Actor, staff: User) -> str:
    """Give the account a fresh temporary password, to be changed at its next login; the
    password is returned once and never stored or logged in clear."""
    access.check_staff(actor, staff)
    password = temporary_password()
    with locking_transaction():
        staff.set_password(password)
        staff.must_change_password = True
        staff.save(update_fields=["password", "must_change_password"])
        record(actor, "accounts.staff.password_reset", target=staff, summary=staff.username)
    return password


def unlock_staff(actor: access.Actor, staff: User) -> int:
    """Clear the failed logins that lock the account out (from every address); how many
    were cleared."""
    access.check_staff(actor, staff)
    with locking_transaction():
        cleared = axes_reset(username=staff.username)
        record(
            actor,
            "accounts.staff.unlock",
            target=staff,
            summary=staff.username,
            detail={"cleared": cleared},
        )
    return cleared


def change_own_password(user: User, new_password: str) -> None:
    """The signed-in staff member's new password (validated by the form); ends the
    must-change-password state."""
    with locking_transaction():
        user.set_password(new_password)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
        record(user, "accounts.password.change", target=user, summary=user.username)
