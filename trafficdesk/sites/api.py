from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from trafficdesk.core.problems import Problem
from trafficdesk.regions.rules import code_prefix
from trafficdesk.sites.models import ServicePoint, Window

router = Router(tags=["sites"])


class ZoneOut(Schema):
    id: int
    name_zh: str
    occupancy_cap: int
    is_open: bool


class WindowOut(Schema):
    number: int
    kind: str
    is_open: bool
    zone_id: int
    businesses: list[str]

    @staticmethod
    def resolve_businesses(obj: Window) -> list[str]:
        return [b.code for b in obj.businesses.all()]


class ServicePointOut(Schema):
    code: str
    name_zh: str
    name_en: str
    kind: str
    region_code: str
    address: str
    ppe_complete: bool
    service_area_m2: int
    diversion_ease: int
    designated_emergency: bool

    @staticmethod
    def resolve_region_code(obj: ServicePoint) -> str:
        return obj.region.code


class ServicePointDetailOut(ServicePointOut):
    zones: list[ZoneOut]
    windows: list[WindowOut]

    @staticmethod
    def resolve_zones(obj: ServicePoint) -> Any:
        return obj.zones.all()

    @staticmethod
    def resolve_windows(obj: ServicePoint) -> Any:
        return obj.windows.all()


class PointFilter(Schema):
    region: str | None = Field(None, pattern=r"^\d{2,6}$", description="region code or prefix")
    kind: str | None = None


@router.get("/service-points", response=list[ServicePointOut], auth=None)
def list_service_points(request: HttpRequest, filters: Query[PointFilter]) -> Any:
    queryset = ServicePoint.objects.select_related("region")
    if filters.region:
        code = filters.region
        prefix = code_prefix(code)
        queryset = queryset.filter(region__code__startswith=prefix)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    return queryset


@router.get(
    "/service-points/{code}", response={200: ServicePointDetailOut, 404: Problem}, auth=None
)
def service_point_detail(request: HttpRequest, code: str) -> Any:
    windows = Window.objects.prefetch_related("businesses")
    return get_object_or_404(
        ServicePoint.objects.select_related("region").prefetch_related(
            "zones", Prefetch("windows", queryset=windows)
        ),
        code=code,
    )
