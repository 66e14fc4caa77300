"""Enterprise pages: a citizen registers or joins an enterprise; its agents keep the fleet and
see its priority bookings; staff of its region verify it and grant priority classes. Every
action calls the same service as the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.core.actions import Action
from trafficdesk.core.uploads import MAX_DOCUMENT_BYTES
from trafficdesk.core.vocabulary import DEFAULT_CLASS, ApplicantClass, EnterpriseStatus, VehicleUse
from trafficdesk.enterprises import services
from trafficdesk.enterprises.models import Agent, Enterprise, Grant


class RegisterForm(forms.Form):
    uscc = forms.CharField(label=gettext_lazy("unified social credit code"), max_length=30)
    name = forms.CharField(label=pgettext_lazy("of a thing", "name"), max_length=100)
    address = forms.CharField(label=gettext_lazy("address"), max_length=200)
    contact_name = forms.CharField(label=gettext_lazy("contact person"), max_length=50)
    contact_mobile = forms.CharField(label=gettext_lazy("contact mobile number"), max_length=20)
    document = forms.FileField(label=gettext_lazy("business licence"))


class JoinForm(forms.Form):
    uscc = forms.CharField(label=gettext_lazy("unified social credit code"), max_length=30)


class VehicleForm(forms.Form):
    plate = forms.CharField(label=gettext_lazy("plate number"), max_length=20)
    vehicle_type = forms.CharField(label=gettext_lazy("vehicle type"), max_length=40)
    use = forms.ChoiceField(label=gettext_lazy("use"), choices=VehicleUse.choices)


class GrantForm(forms.Form):
    applicant_class = forms.ChoiceField(
        label=gettext_lazy("applicant class"),
        choices=[c for c in ApplicantClass.choices if c[0] != DEFAULT_CLASS],
    )
    valid_until = forms.DateField(
        label=gettext_lazy("valid until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=300)


def _refused(request: HttpRequest, refused: services.EnterpriseRefused, form: Any = None) -> None:
    if form is not None and refused.field and refused.field in form.fields:
        form.add_error(refused.field, refused.message)
    else:
        messages.error(request, refused.message)


@permission_required(Action.ENTERPRISE_REGISTER)
def mine(request: HttpRequest) -> HttpResponse:
    """My enterprises; register one, or ask to act for one."""
    register = RegisterForm(prefix="r")
    join = JoinForm(prefix="j")
    status = 200
    if request.method == "POST" and "r-uscc" in request.POST:
        register = RegisterForm(request.POST, request.FILES, prefix="r")
        if register.is_valid():
            data = dict(register.cleaned_data)
            document = data.pop("document")
            try:
                enterprise = services.register(
                    request.user,  # type: ignore[arg-type]
                    document_name=document.name or "",
                    document=document.read(MAX_DOCUMENT_BYTES + 1),
                    **data,
                )
            except services.EnterpriseRefused as refused:
                _refused(request, refused, register)
            else:
                messages.success(
                    request, _("Registered. Staff of its region will verify the licence.")
                )
                return redirect("enterprises:detail", enterprise.pk)
        status = 422
    elif request.method == "POST":
        join = JoinForm(request.POST, prefix="j")
        if join.is_valid():
            try:
                services.request_agency(request.user, join.cleaned_data["uscc"])  # type: ignore[arg-type]
            except services.EnterpriseRefused as refused:
                _refused(request, refused, join)
            else:
                messages.success(request, _("Asked. The enterprise's manager will approve you."))
                return redirect("enterprises:mine")
        status = 422
    user: Any = request.user
    agencies = Agent.objects.filter(user=user).select_related("enterprise")
    return render(
        request,
        "enterprises/mine.html",
        {"agencies": agencies, "register": register, "join": join},
        status=status,
    )


@permission_required(Action.ENTERPRISE_REGISTER)
def detail(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    """An enterprise for its agents: grants, agents and the fleet (its priority bookings are
    on the booking app's fleet page)."""
    enterprise = get_object_or_404(Enterprise.objects.select_related("region"), pk=enterprise_id)
    access.check(request.user, Action.ENTERPRISE_ACT, enterprise)
    vehicle_form = VehicleForm()
    if request.method == "POST" and "plate" in request.POST:
        vehicle_form = VehicleForm(request.POST)
        if vehicle_form.is_valid():
            try:
                services.add_vehicle(request.user, enterprise, **vehicle_form.cleaned_data)  # type: ignore[arg-type]
            except services.EnterpriseRefused as refused:
                _refused(request, refused, vehicle_form)
            else:
                messages.success(request, _("The vehicle is in the fleet."))
                return redirect("enterprises:detail", enterprise.pk)
    elif request.method == "POST" and "agent" in request.POST:
        agent = get_object_or_404(Agent, pk=request.POST["agent"], enterprise=enterprise)
        try:
            services.decide_agent(request.user, agent, approve=request.POST.get("approve") == "1")  # type: ignore[arg-type]
        except services.EnterpriseRefused as refused:
            _refused(request, refused)
        return redirect("enterprises:detail", enterprise.pk)
    return render(
        request,
        "enterprises/detail.html",
        {
            "enterprise": enterprise,
            "grants": enterprise.grants.order_by("-valid_until"),
            "agents": enterprise.agents.select_related("user").order_by("pk"),
            "manager": access.allows(
                request.user, Action.ENTERPRISE_MANAGE_AGENTS, Agent(enterprise=enterprise)
            ),
            "vehicles": services.fleet(request.user, enterprise),  # type: ignore[arg-type]
            "vehicle_form": vehicle_form,
        },
        status=422 if vehicle_form.errors else 200,
    )


@permission_required(Action.ENTERPRISE_VERIFY)
def review(request: HttpRequest) -> HttpResponse:
    """Staff: enterprises of their region to verify, and grants of priority classes."""
    if request.method == "POST":
        enterprise = get_object_or_404(Enterprise, pk=request.POST.get("enterprise"))
        try:
            _act(request, enterprise)
        except services.EnterpriseRefused as refused:
            _refused(request, refused)
        return redirect("enterprises:review")
    enterprises = access.scope(
        request.user,
        Enterprise.objects.select_related("region").prefetch_related("grants"),
        Action.ENTERPRISE_VERIFY,
    ).order_by("status", "-registered_at")[:200]
    return render(
        request,
        "enterprises/review.html",
        {
            "enterprises": enterprises,
            "grant_form": GrantForm(),
            "may_grant": access.allows(request.user, Action.PRIORITY_GRANT),
            "pending": EnterpriseStatus.PENDING,
            "verified": EnterpriseStatus.VERIFIED,
        },
    )


def _act(request: HttpRequest, enterprise: Enterprise) -> None:
    what = request.POST.get("do")
    if what in {"verify", "reject"}:
        services.verify(
            request.user, enterprise, approve=what == "verify", note=request.POST.get("note", "")
        )
        messages.success(request, _("Saved."))
    elif what == "grant":
        form = GrantForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a class, a date and give the reason."))
            return
        data = form.cleaned_data
        until: date = data["valid_until"]
        services.grant(request.user, enterprise, data["applicant_class"], until, data["reason"])
        messages.success(request, _("Granted."))
    elif what == "revoke":
        given = get_object_or_404(Grant, pk=request.POST.get("grant"), enterprise=enterprise)
        services.revoke(request.user, given, request.POST.get("reason", ""))
        messages.success(request, _("Revoked."))
