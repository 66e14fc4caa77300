from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from trafficdesk.accounts import access
from trafficdesk.accounts.decorators import permission_required
from trafficdesk.core.actions import Action
from trafficdesk.planning import services
from trafficdesk.sites.models import ServicePoint


@permission_required(Action.PLAN_VIEW)
def planner(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    points = access.scope(user, ServicePoint.objects.select_related("region"), Action.PLAN_VIEW)
    wanted = request.GET.get("point", "")
    point: ServicePoint | None
    if wanted:
        point = get_object_or_404(ServicePoint.objects.select_related("region"), code=wanted)
        access.check(user, Action.PLAN_VIEW, point)
    else:
        point = points.first()
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
