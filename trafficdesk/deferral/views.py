from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trafficdesk.accounts.decorators import permission_required
from trafficdesk.audit import services as audit_services
from trafficdesk.core.actions import Action
from trafficdesk.deferral import services


@permission_required(Action.DEFERRAL_LOOKUP)
def lookup(request: HttpRequest) -> HttpResponse:
    """Look a driver up by ID number or a vehicle by plate and see each deadline's standing."""
    who: Any = None
    answers: list[Any] = []
    problem = None
    query = request.POST.get("query", "").strip() if request.method == "POST" else ""
    if query:
        try:
            if len(query) >= 15 and query[:6].isdigit():
                found, answers = services.check_person(request.user, query)
                who = f"{found.name_masked} {found.id_masked}" if found else None
            else:
                vehicle, answers = services.check_vehicle(request.user, query)
                who = vehicle.plate if vehicle else None
            if who is None:
                problem = "not-found"
        except services.DeferralError as exc:
            problem = str(exc)
    return render(
        request,
        "deferral/lookup.html",
        {"who": who, "answers": answers, "problem": problem},
        status=422 if problem and problem != "not-found" else 200,
    )


@permission_required(Action.DEFERRAL_REPORT)
def report(request: HttpRequest) -> HttpResponse:
    try:
        days = max(0, min(365, int(request.GET.get("days", "14"))))
    except ValueError:
        days = 14
    rows = services.ending_soon_for_staff(request.user, days)
    audit_services.record_view(
        request.user, None, ["who", "due"], "deferral.report", count=len(rows)
    )
    return render(
        request,
        "deferral/report.html",
        {"days": days, "rows": rows},
    )
