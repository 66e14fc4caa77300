"""The staff pages: regional administrators manage the staff accounts of their region
(the operations are in staff.services, which the API uses too)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.accounts.models import User
from trafficdesk.core.actions import Action
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint, Window
from trafficdesk.staff import services
from trafficdesk.staff.forms import StaffFilterForm, StaffForm

PER_PAGE = 50


def _choices(actor: access.Actor) -> dict[str, Any]:
    """The regions, service points and windows inside the administrator's region."""
    manage = Action.STAFF_MANAGE
    return {
        "regions": access.scope(actor, Region.objects.order_by("path"), manage),
        "points": access.scope(actor, ServicePoint.objects.order_by("code"), manage),
        "windows": access.scope(
            actor,
            Window.objects.select_related("service_point").order_by(
                "service_point__code", "number"
            ),
            manage,
        ),
    }


def _filtered(staff: QuerySet[User], form: StaffFilterForm) -> QuerySet[User]:
    if not form.is_valid():
        return staff
    data = form.cleaned_data
    if data["q"]:
        words = data["q"].strip()
        staff = staff.filter(
            Q(username__icontains=words)
            | Q(first_name__icontains=words)
            | Q(last_name__icontains=words)
        )
    if data["role"]:
        staff = staff.filter(role=data["role"])
    if data["point"]:
        staff = staff.filter(service_point__code=data["point"])
    if data["status"]:
        staff = staff.filter(is_active=data["status"] == "active")
    return staff


@permission_required(Action.STAFF_MANAGE)
def staff_list(request: HttpRequest) -> HttpResponse:
    points = _choices(request.user)["points"]
    form = StaffFilterForm(request.GET or None, points=points)
    staff = _filtered(services.manageable_staff(request.user), form)
    page = Paginator(staff, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "staff/staff_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _refused(form: StaffForm, exc: services.StaffRefused) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _show_password(request: HttpRequest, staff: User, password: str, created: bool) -> HttpResponse:
    """The temporary password, shown once (never cached, never stored)."""
    return render(
        request,
        "staff/staff_password.html",
        {"staff": staff, "password": password, "created": created},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required(Action.STAFF_MANAGE)
def staff_new(request: HttpRequest) -> HttpResponse:
    form = StaffForm(request.POST or None, **_choices(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            made = services.create_staff(
                request.user, form.cleaned_data["username"], form.details()
            )
        except services.StaffRefused as exc:
            _refused(form, exc)
        else:
            return _show_password(request, made.user, made.temporary_password, created=True)
    return render(
        request,
        "staff/staff_form.html",
        {"form": form, "staff": None},
        status=422 if form.errors else 200,
    )


def _find(request: HttpRequest, username: str) -> User:
    try:
        return services.find_staff(request.user, username)
    except services.StaffNotFound as exc:
        raise Http404(exc.message) from exc


def _initial(staff: User) -> dict[str, Any]:
    return {
        "full_name": staff.get_full_name(),
        "role": staff.role,
        "region": staff.region.code if staff.region else None,
        "service_point": staff.service_point.code if staff.service_point else None,
        "windows": [w.pk for w in staff.windows.all()],
        "is_superuser": staff.is_superuser,
    }


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required(Action.STAFF_MANAGE)
def staff_edit(request: HttpRequest, username: str) -> HttpResponse:
    staff = _find(request, username)
    form = StaffForm(
        request.POST or None, initial=_initial(staff), creating=False, **_choices(request.user)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.edit_staff(request.user, staff, form.details())
        except services.StaffRefused as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("Saved the account of %(name)s.") % _named(staff))
            return redirect("staff:list")
    return render(
        request,
        "staff/staff_form.html",
        {"form": form, "staff": staff, "is_self": staff.pk == request.user.pk},
        status=422 if form.errors else 200,
    )


def _named(staff: User) -> dict[str, str]:
    return {"name": staff.display_name()}


@require_POST
@permission_required(Action.STAFF_MANAGE)
def staff_active(request: HttpRequest, username: str) -> HttpResponse:
    staff = _find(request, username)
    active = request.POST.get("active") == "1"
    try:
        services.set_staff_active(request.user, staff, active)
    except services.StaffRefused as exc:
        raise PermissionDenied(exc.message) from exc
    if active:
        messages.success(request, _("%(name)s can log in again.") % _named(staff))
    else:
        messages.success(
            request, _("%(name)s can no longer log in; the history is kept.") % _named(staff)
        )
    return redirect("staff:edit", staff.username)


@never_cache
@require_POST
@permission_required(Action.STAFF_MANAGE)
def staff_reset_password(request: HttpRequest, username: str) -> HttpResponse:
    staff = _find(request, username)
    password = services.reset_staff_password(request.user, staff)
    return _show_password(request, staff, password, created=False)


@require_POST
@permission_required(Action.STAFF_MANAGE)
def staff_unlock(request: HttpRequest, username: str) -> HttpResponse:
    staff = _find(request, username)
    services.unlock_staff(request.user, staff)
    messages.success(
        request, _("%(name)s may try to log in again from any address.") % _named(staff)
    )
    return redirect("staff:edit", staff.username)


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required(Action.ACCOUNT_VIEW)
def password_change(request: HttpRequest) -> HttpResponse:
    """The signed-in staff member changes their password (required after a reset)."""
    user = request.user
    assert isinstance(user, User)
    if user.is_citizen:
        raise PermissionDenied(_("Citizens log in with a code sent by SMS and have no password."))
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.change_own_password(user, form.cleaned_data["new_password1"])
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password is changed."))
        return redirect("dashboard:home")
    return render(
        request,
        "staff/password_change.html",
        {"form": form, "forced": user.must_change_password},
        status=422 if form.errors else 200,
    )
