"""Staff accounts over the API (regional administrators): the same services as the staff
pages, so the API refuses what the pages refuse."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.security import django_auth
from pydantic import StrictBool, StrictInt

from trafficdesk.accounts import access
from trafficdesk.accounts.api import Problem
from trafficdesk.accounts.models import User
from trafficdesk.core.actions import Action
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint, Window
from trafficdesk.staff import services

router = Router(tags=["staff"])


class StaffIn(Schema):
    full_name: str
    role: str
    region: str = Field(description="GB/T 2260 code of the region of authority")
    service_point: str | None = Field(None, description="code of the service point")
    windows: list[StrictInt] = Field(default_factory=list, description="ids of windows")
    is_superuser: StrictBool = False


class StaffCreateIn(StaffIn):
    username: str


class StaffOut(Schema):
    username: str
    full_name: str
    role: str
    region: str | None
    service_point: str | None
    windows: list[int]
    is_active: bool
    is_superuser: bool
    must_change_password: bool


class StaffCreatedOut(Schema):
    staff: StaffOut
    temporary_password: str


class PasswordOut(Schema):
    temporary_password: str


class UnlockOut(Schema):
    cleared: int


class ActiveIn(Schema):
    active: StrictBool


STAFF_ERRORS: dict[int, Any] = {401: Problem, 403: Problem, 404: Problem, 422: Problem}


def _staff_out(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.get_full_name(),
        "role": user.role,
        "region": user.region.code if user.region else None,
        "service_point": user.service_point.code if user.service_point else None,
        "windows": sorted(w.pk for w in user.windows.all()),
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "must_change_password": user.must_change_password,
    }


def _lookup(model: Any, field: str, **where: Any) -> Any:
    found = model.objects.filter(**where).first()
    if found is None:
        raise services.StaffRefused(_("%(field)s: no such value.") % {"field": field}, field)
    return found


def _details(payload: StaffIn) -> services.StaffDetails:
    point = (
        _lookup(ServicePoint, "service_point", code=payload.service_point)
        if payload.service_point
        else None
    )
    windows = list(Window.objects.filter(pk__in=payload.windows))
    if len(windows) != len(set(payload.windows)):
        raise services.StaffRefused(_("windows: no such value."), "windows")
    return services.StaffDetails(
        full_name=payload.full_name,
        role=payload.role,
        region=_lookup(Region, "region", code=payload.region),
        service_point=point,
        windows=windows,
        is_superuser=payload.is_superuser,
    )


@router.get("/staff", response={200: list[StaffOut], **STAFF_ERRORS}, auth=django_auth)
def staff_list(request: HttpRequest) -> Any:
    """The staff accounts the signed-in administrator manages (its region)."""
    access.check(request.user, Action.STAFF_MANAGE)
    return [_staff_out(u) for u in services.manageable_staff(request.user)]


@router.post("/staff", response={201: StaffCreatedOut, **STAFF_ERRORS}, auth=django_auth)
def staff_create(request: HttpRequest, payload: StaffCreateIn) -> Any:
    """Create a staff account; the temporary password is in this answer only."""
    made = services.create_staff(request.user, payload.username, _details(payload))
    return Status(
        201, {"staff": _staff_out(made.user), "temporary_password": made.temporary_password}
    )


@router.get("/staff/{username}", response={200: StaffOut, **STAFF_ERRORS}, auth=django_auth)
def staff_detail(request: HttpRequest, username: str) -> Any:
    return _staff_out(services.find_staff(request.user, username))


@router.put("/staff/{username}", response={200: StaffOut, **STAFF_ERRORS}, auth=django_auth)
def staff_edit(request: HttpRequest, username: str, payload: StaffIn) -> Any:
    staff = services.find_staff(request.user, username)
    return _staff_out(services.edit_staff(request.user, staff, _details(payload)))


@router.post("/staff/{username}/active", response={200: StaffOut, **STAFF_ERRORS}, auth=django_auth)
def staff_active(request: HttpRequest, username: str, payload: ActiveIn) -> Any:
    """Deactivate (`active: false`; the account is kept) or reactivate a staff account."""
    staff = services.find_staff(request.user, username)
    return _staff_out(services.set_staff_active(request.user, staff, payload.active))


@router.post(
    "/staff/{username}/password", response={200: PasswordOut, **STAFF_ERRORS}, auth=django_auth
)
def staff_reset_password(request: HttpRequest, username: str) -> Any:
    """A new temporary password (in this answer only), to be changed at the next login."""
    staff = services.find_staff(request.user, username)
    return {"temporary_password": services.reset_staff_password(request.user, staff)}


@router.post(
    "/staff/{username}/unlock", response={200: UnlockOut, **STAFF_ERRORS}, auth=django_auth
)
def staff_unlock(request: HttpRequest, username: str) -> Any:
    """Clear the failed logins that lock the account out."""
    staff = services.find_staff(request.user, username)
    return {"cleared": services.unlock_staff(request.user, staff)}
