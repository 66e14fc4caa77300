from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trafficdesk.catalog.models import BusinessCategory


def business_list(request: HttpRequest) -> HttpResponse:
    categories = BusinessCategory.objects.prefetch_related("businesses")
    return render(request, "catalog/list.html", {"categories": categories})
