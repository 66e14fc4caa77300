from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trafficdesk.accounts.decorators import permission_required
from trafficdesk.core import provinces
from trafficdesk.core.actions import Action
from trafficdesk.core.vocabulary import RiskLevel
from trafficdesk.national import services


@permission_required(Action.NATIONAL_VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    """Every province's figures from the national read model, and their total."""
    rows, total = services.national_view()
    return render(
        request,
        "national/dashboard.html",
        {
            "provinces": rows,
            "total": total,
            "levels": [(value, label) for value, label in RiskLevel.choices],
            "home": provinces.home_province(),
        },
    )
