from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.audit import services as audit_services
from trafficdesk.catalog.models import Business
from trafficdesk.core.actions import Action
from trafficdesk.core.validators import mask_mobile
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
            .order_by("category__code", "code"),
            "can_file_for_caller": request.user.is_authenticated
            and services.can_file_by_phone(request.user),
        },
    )


def _posted_form(business: Business, post: QueryDict) -> dict[str, Any]:
    """The answers to the business's form from a page's POST; the licence classes come from
    checkboxes (several values)."""
    data: dict[str, Any] = {}
    for spec in rules.form_for(business.code):
        if spec.kind == rules.FieldKind.LICENCE_CLASSES:
            data[spec.name] = post.getlist(spec.name)
        else:
            data[spec.name] = post.get(spec.name, "")
    return data


def _choices(business: Business, spec: rules.FieldSpec) -> list[tuple[str, str]]:
    if spec.kind == rules.FieldKind.LICENCE_CLASSES:
        return rules.licence_class_choices()
    if spec.kind == rules.FieldKind.REASON:
        return [(r.value, str(r.label)) for r in rules.reasons_for(business.code)]
    return []


def _fields(
    business: Business, post: QueryDict | None, errors: dict[str, str]
) -> list[dict[str, Any]]:
    """The form's fields for the template, re-filled from the POST (except ID numbers, which
    are never echoed back)."""
    fields = []
    for spec in rules.form_for(business.code):
        if spec.kind == rules.FieldKind.LICENCE_CLASSES:
            picked = post.getlist(spec.name) if post else []
        else:
            picked = [post.get(spec.name, "")] if post else []
        fields.append(
            {
                "name": spec.name,
                "label": spec.label,
                "kind": spec.kind.value,
                "error": errors.get(spec.name, ""),
                "value": "" if spec.kind == rules.FieldKind.RESIDENT_ID else (picked or [""])[0],
                "picked": picked,
                "choices": _choices(business, spec),
            }
        )
    return fields


def _form_page(
    request: HttpRequest,
    business: Business,
    errors: dict[str, str],
    problem: str | None,
    *,
    phone: bool = False,
) -> HttpResponse:
    post = request.POST if request.method == "POST" else None
    return render(
        request,
        "online/apply.html",
        {
            "business": business,
            "fields": _fields(business, post, errors),
            "errors": errors,
            "problem": problem,
            "mailed": bool(business.deliverable),
            "phone": phone,
            "posted": post or {},
        },
        status=422 if problem else 200,
    )


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
                _posted_form(business, request.POST),
                [services.read_attachment(u) for u in request.FILES.getlist("files")],
                delivery_address=request.POST.get("delivery_address", ""),
                delivery_mobile=request.POST.get("delivery_mobile", ""),
            )
        except services.ApplicationError as exc:
            errors, problem = exc.errors, exc.message
        else:
            messages.success(request, _("Submitted. We will tell you by SMS at each step."))
            return redirect("online:detail", application.reference)
    return _form_page(request, business, errors, problem)


@permission_required(Action.ACCOUNT_VIEW)
def mine(request: HttpRequest) -> HttpResponse:
    found = (
        OnlineApplication.objects.filter(applicant_id=request.user.pk)
        .select_related("business")
        .order_by("-submitted_at")
    )
    return render(request, "online/mine.html", {"applications": found[:100]})


@dataclass(frozen=True)
class StaffStep:
    value: str
    label: str
    needs_note: bool


def _next_steps(application: OnlineApplication) -> list[StaffStep]:
    """The clerk's buttons: every step the flow allows from here, except the citizen's own
    (resubmitting) and delivery (the carrier's)."""
    here = rules.Status(application.status)
    return [
        StaffStep(
            s.value,
            str(rules.ACTION_LABELS[s]),
            s in (rules.Status.REJECTED, rules.Status.NEEDS_MORE),
        )
        for s in rules.Status
        if rules.allowed(here, s, mailed=application.mailed)
        and (here, s) not in rules.CITIZEN_MOVES
        and s != rules.Status.DELIVERED
    ]


@permission_required(Action.ACCOUNT_VIEW)
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    application = get_object_or_404(
        OnlineApplication.objects.select_related("business", "applicant"), reference=reference
    )
    if not services.visible_to(request.user, application):
        return render(request, "404.html", status=404)
    user: Any = request.user
    full_mobile = ""
    reveal_problem = ""
    if (
        request.method == "POST"
        and "reveal" in request.POST
        and user.pk != application.applicant_id
    ):
        try:
            full_mobile = audit_services.reveal_mobile(
                user,
                application,
                request.POST.get("reason", ""),
                number=application.delivery_mobile,
            )
        except audit_services.RevealRefused:
            reveal_problem = str(_("Say why you need the full number."))
    elif request.method == "POST" and user.pk == application.applicant_id:
        try:
            services.resubmit(
                user,
                application,
                [services.read_attachment(u) for u in request.FILES.getlist("files")],
            )
            messages.success(request, _("Resubmitted."))
        except services.ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("online:detail", application.reference)
    shipment = getattr(application, "shipment", None)
    audit_services.record_view(
        user, application, ["form", "delivery_mobile", "delivery_address"], "online.detail"
    )
    return render(
        request,
        "online/detail.html",
        {
            "application": application,
            "status_label": rules.status_label(application.status),
            "steps": rules.progress(application.status, mailed=application.mailed),
            "refused": application.status == rules.Status.REJECTED,
            "withdrawn": application.status == rules.Status.WITHDRAWN,
            "can_withdraw": user.pk == application.applicant_id
            and rules.can_withdraw(application.status),
            "needs_more": application.status == rules.Status.NEEDS_MORE,
            "is_owner": user.pk == application.applicant_id,
            "form": services.masked_form(application),
            "delivery_mobile": full_mobile
            or (mask_mobile(application.delivery_mobile) if application.delivery_mobile else ""),
            "mobile_revealed": bool(full_mobile),
            "may_reveal": bool(application.delivery_mobile)
            and user.pk != application.applicant_id
            and access.allows(user, Action.PERSONAL_DATA_REVEAL, application),
            "reveal_problem": reveal_problem,
            "shipment": shipment,
            "tracking": list(shipment.events.all()) if shipment else [],
            "events": application.events.all(),
            "is_staff_view": services.is_reviewer(user),
            "next_steps": _next_steps(application),
            "shipment_statuses": ShipmentStatus.choices,
        },
    )


@permission_required(Action.ACCOUNT_VIEW)
def withdraw(request: HttpRequest, reference: str) -> HttpResponse:
    """The applicant withdraws an application, after a confirmation step."""
    application = get_object_or_404(
        OnlineApplication.objects.select_related("business"), reference=reference
    )
    if request.user.pk != application.applicant_id:
        return render(request, "404.html", status=404)
    if request.method == "POST":
        try:
            services.withdraw(request.user, application)
        except services.ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The application is withdrawn."))
        return redirect("online:detail", application.reference)
    if not rules.can_withdraw(application.status):
        messages.error(
            request,
            _(
                "The review has started, so the application can no longer be withdrawn; "
                "wait for its answer."
            ),
        )
        return redirect("online:detail", application.reference)
    return render(request, "online/withdraw.html", {"application": application})


@dataclass(frozen=True)
class QueueRow:
    application: OnlineApplication
    status_label: str
    hours_left: float

    @property
    def overdue(self) -> bool:
        return self.hours_left < 0

    @property
    def hours_over(self) -> float:
        return -self.hours_left


@permission_required(Action.ONLINE_REVIEW)
def queue(request: HttpRequest) -> HttpResponse:
    """The online centre's review queue, most urgent first, with SLA timers."""
    now = timezone.now()
    rows = [
        QueueRow(a, rules.status_label(a.status), (a.sla_due_at - now).total_seconds() / 3600)
        for a in services.review_queue(request.user)[:200]
    ]
    return render(request, "online/queue.html", {"rows": rows})


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
            services.track_by_staff(
                request.user,
                application,
                status=request.POST.get("status", ""),
                location=request.POST.get("location", ""),
                description=request.POST.get("description", ""),
            )
        elif action in rules.Status.values:
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
                _posted_form(business, request.POST),
                delivery_address=request.POST.get("delivery_address", ""),
                delivery_mobile=request.POST.get("delivery_mobile", ""),
            )
        except services.ApplicationError as exc:
            errors, problem = exc.errors, exc.message
        else:
            messages.success(request, _("Filed as %(ref)s.") % {"ref": application.reference})
            return redirect("online:detail", application.reference)
    return _form_page(request, business, errors, problem, phone=True)


def _vehicle_field(business: Business) -> rules.FieldSpec | None:
    """The one field a fleet filing asks per vehicle (a VIN or a plate), if the business is
    for a vehicle and asks nothing else but the owner."""
    specs = [s for s in rules.form_for(business.code) if s is not rules.OWNER_ID]
    if rules.OWNER_ID not in rules.form_for(business.code) or len(specs) != 1:
        return None
    return specs[0]


_ROW_KEY = re.compile(r"^rows\[(\d+)\]\.(\w+)$")


def _fleet_errors(business: Business, errors: dict[str, str]) -> list[tuple[str, str]]:
    """(field key, what the agent reads): "rows[3].vin" becomes "Line 3, VIN: …"."""
    labels = {s.name: str(s.label) for s in rules.form_for(business.code)}
    shown = []
    for key, text in sorted(errors.items()):
        match = _ROW_KEY.match(key)
        if match:
            line, name = match.groups()
            text = _("Line %(line)s, %(field)s: %(error)s") % {
                "line": line,
                "field": labels.get(name, name),
                "error": text,
            }
        elif key in labels:
            text = f"{labels[key]}: {text}"
        shown.append((key, text))
    return shown


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
    errors: list[tuple[str, str]] = []
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
            message, errors = exc.message, _fleet_errors(business, exc.errors)
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
            "errors": errors,
            "posted": request.POST,
        },
        status=422 if message else 200,
    )
