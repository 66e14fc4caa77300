from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from trafficdesk.accounts.decorators import role_required
from trafficdesk.accounts.models import Role
from trafficdesk.planning import services
from trafficdesk.sites.models import ServicePoint


@role_required(Role.REGIONAL_ADMIN, Role.HALL_MANAGER)
def planner(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    points = ServicePoint.objects.select_related("region")
    if not user.is_superuser:
        own = user.region.path if user.region else "-"
        points = points.filter(Q(region__path=own) | Q(region__path__startswith=own + "/"))
    point = points.filter(code=request.GET.get("point", "")).first() or points.first()
    try:
        day = (
            date.fromisoformat(request.GET["day"])
            if request.GET.get("day")
            else timezone.localdate()
        )
    except ValueError:
        day = timezone.localdate()
    result = services.plan(point, day) if point else None
    data = services.plan_as_dict(result) if result else None
    return render(
        request,
        "planning/planner.html",
        {
            "points": points,
            "point": point,
            "day": day,
            "plan": result,
            "chart": json.dumps(data, ensure_ascii=False),
        },
    )
