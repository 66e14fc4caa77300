from __future__ import annotations

from collections import Counter

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.regions.services import current_levels
from trafficdesk.sites.models import ServicePoint


def home(request: HttpRequest) -> HttpResponse:
    counties = list(Region.objects.filter(level=RegionLevel.COUNTY))
    levels = Counter(a.level for a in current_levels(counties).values())
    return render(
        request,
        "dashboard/home.html",
        {
            "county_count": len(counties),
            "levels": levels,
            "service_point_count": ServicePoint.objects.count(),
        },
    )
