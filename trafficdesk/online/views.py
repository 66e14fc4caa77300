from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trafficdesk.accounts.decorators import permission_required
from trafficdesk.catalog.models import Business
from trafficdesk.core.actions import Action
from trafficdesk.enterprises.models import Enterprise
from trafficdesk.online import rules, services
from trafficdesk.online.models import OnlineApplication, ShipmentStatus


def catalogue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "online/catalogue.html",
        {
            "businesses": Business.objects.filter(active=True, online=True)
            .select_related("category")
            .order_by("code")
        },
    )


def _fields(business: Business, data: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    english = (get_language() or "").startswith("en")
    return [
        {
            "name": f.name,
            "label": f.label_en if english else f.label_zh,
            "error": errors.get(f.name, ""),
            "value": ""
            if f.kind in (rules.FieldKind.RESIDENT_ID,)
            else (data or {}).get(f.name, ""),
        }
        for f in rules.form_for(business.code)
    ]


@permission_required(Action.ONLINE_APPLY)
def apply(request: HttpRequest, code: str) -> HttpResponse:
    """A citizen applies online, with photos or scans attached."""
    business = get_object_or_404(Business, code=code, online=True, active=True)
    user: Any = request.user
    errors: dict[str, str] = {}
    problem = None
    if request.method == "POST":
        try:
            application = services.submit_with_files(
                user,
                business,
                request.POST.dict(),
                [(u.name or "file", u.read()) for u in request.FILES.getlist("files")],
                delivery_address=request.POST.get("delivery_address", ""),
                delivery_mobile=request.POST.get("delivery_mobile", ""),
            )
        except services.ApplicationError as exc:
            errors, problem = exc.errors, exc.message
        else:
            messages.success(request, _("Submitted. We will tell you by SMS at each step."))
            return redirect("online:detail", application.reference)
    return render(
        request,
        "online/apply.html",
        {
            "business": business,
            "fields": _fields(business, request.POST, errors),
            "errors": errors,
            "problem": problem,
            "mailed": bool(business.deliverable),
        },
        status=422 if problem else 200,
    )


@permission_required(Action.ACCOUNT_VIEW)
def mine(request: HttpRequest) -> HttpResponse:
    found = (
        OnlineApplication.objects.filter(applicant_id=request.user.pk)
        .select_related("business")
        .order_by("-submitted_at")
    )
    return render(request, "online/mine.html", {"applications": found[:100]})


@permission_required(Action.ACCOUNT_VIEW)
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    application = get_object_or_404(
        OnlineApplication.objects.select_related("business", "applicant"), reference=reference
    )
    if not services.visible_to(request.user, application):
        return render(request, "404.html", status=404)
    user: Any = request.user
    if request.method == "POST" and user.pk == application.applicant_id:
        try:
            services.resubmit(
                user,
                application,
                [(u.name or "file", u.read()) for u in request.FILES.getlist("files")],
            )
            messages.success(request, _("Resubmitted."))
        except services.ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("online:detail", application.reference)
    shipment = getattr(application, "shipment", None)
    return render(
        request,
        "online/detail.html",
        {
            "application": application,
            "form": services.masked_form(application),
            "shipment": shipment,
            "events": application.events.all(),
            "status_zh": rules.STATUS_ZH,
            "is_staff_view": services.is_reviewer(user),
            "next_steps": _next_steps(application),
            "shipment_statuses": ShipmentStatus.choices,
        },
    )


def _next_steps(application: OnlineApplication) -> list[str]:
    return [
        s.value
        for s in rules.Status
        if rules.allowed(application.status, s, mailed=application.mailed)
        and (rules.Status(application.status), s) not in rules.CITIZEN_MOVES
        and s != rules.Status.DELIVERED
    ]


@permission_required(Action.ONLINE_REVIEW)
def queue(request: HttpRequest) -> HttpResponse:
    """The online centre's review queue, most urgent first, with SLA timers."""
    now = timezone.now()
    rows = [
        (a, (a.sla_due_at - now).total_seconds() / 3600)
        for a in services.review_queue(request.user)[:200]
    ]
    return render(request, "online/queue.html", {"rows": rows, "status_zh": rules.STATUS_ZH})


@permission_required(Action.ONLINE_REVIEW)
def act(request: HttpRequest, reference: str) -> HttpResponse:
    application = get_object_or_404(
        OnlineApplication.objects.select_related("business", "applicant"), reference=reference
    )
    if request.method != "POST":
        return redirect("online:detail", reference)
    action = request.POST.get("action", "")
    try:
        if action == "ship":
            services.ship(
                request.user,
                application,
                request.POST.get("carrier", ""),
                request.POST.get("waybill", ""),
            )
        elif action == "track":
            shipment = getattr(application, "shipment", None)
            if shipment is None:
                raise services.ApplicationError(_("Nothing has been mailed yet."))
            services.add_tracking(
                shipment,
                status=request.POST.get("status", ""),
                at=timezone.now(),
                location=request.POST.get("location", ""),
                source="staff",
                actor=request.user,
                description=request.POST.get("description", ""),
            )
        elif action in {s.value for s in rules.Status}:
            services.move(request.user, application, action, note=request.POST.get("note", ""))
        else:
            messages.error(request, _("Unknown action."))
    except services.ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("online:detail", reference)


@permission_required(Action.ONLINE_PHONE_FILING)
def phone(request: HttpRequest, code: str) -> HttpResponse:
    """A clerk files an application for a caller (telephone channel)."""
    business = get_object_or_404(Business, code=code, online=True, active=True)
    errors: dict[str, str] = {}
    problem = None
    if request.method == "POST":
        try:
            application = services.file_by_phone(
                request.user,
                request.POST.get("caller_mobile", ""),
                business,
                request.POST.dict(),
                delivery_address=request.POST.get("delivery_address", ""),
                delivery_mobile=request.POST.get("delivery_mobile", ""),
            )
        except services.ApplicationError as exc:
            errors, problem = exc.errors, exc.message
        else:
            messages.success(request, _("Filed as %(ref)s.") % {"ref": application.reference})
            return redirect("online:detail", application.reference)
    return render(
        request,
        "online/apply.html",
        {
            "business": business,
            "fields": _fields(business, request.POST, errors),
            "errors": errors,
            "problem": problem,
            "mailed": bool(business.deliverable),
            "phone": True,
        },
        status=422 if problem else 200,
    )


def _vehicle_field(business: Business) -> rules.FieldSpec | None:
    """The one field a fleet filing asks per vehicle (a VIN or a plate), if the business is
    for a vehicle and asks nothing else but the owner."""
    specs = [s for s in rules.form_for(business.code) if s is not rules.OWNER_ID]
    if rules.OWNER_ID not in rules.form_for(business.code) or len(specs) != 1:
        return None
    return specs[0]


@permission_required(Action.ENTERPRISE_REGISTER)
def fleet(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    """An enterprise's online applications and mailed documents; apply for several vehicles
    at once, one VIN or plate per line."""
    enterprise = get_object_or_404(Enterprise, pk=enterprise_id)
    user: Any = request.user
    found = services.fleet_applications(user, enterprise)  # checks the agent
    choices = [
        (b, spec)
        for b in Business.objects.filter(online=True, active=True).order_by("code")
        if (spec := _vehicle_field(b)) is not None
    ]
    errors: dict[str, str] = {}
    message = ""
    if request.method == "POST":
        business = get_object_or_404(Business, code=request.POST.get("business", ""))
        spec = _vehicle_field(business)
        lines = [line.strip() for line in request.POST.get("vehicles", "").splitlines()]
        rows = [{spec.name: line} for line in lines if line] if spec else []
        try:
            filed = services.submit_for_fleet(
                user,
                enterprise,
                business,
                rows,
                delivery_address=request.POST.get("delivery_address", ""),
                delivery_mobile=request.POST.get("delivery_mobile", ""),
            )
        except services.ApplicationError as exc:
            message, errors = exc.message, exc.errors
        else:
            messages.success(request, _("%(count)d applications filed.") % {"count": len(filed)})
            return redirect("online:fleet", enterprise.pk)
    return render(
        request,
        "online/fleet.html",
        {
            "enterprise": enterprise,
            "applications": found.prefetch_related("shipment__events")[:200],
            "choices": choices,
            "message": message,
            "errors": sorted(errors.items()),
            "posted": request.POST,
        },
        status=422 if message else 200,
    )
