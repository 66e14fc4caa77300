from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from trafficdesk.catalog.models import Business, BusinessCategory, split_lines

router = Router(tags=["catalog"])


class CategoryOut(Schema):
    code: str
    name_zh: str
    name_en: str


class BusinessOut(Schema):
    code: str
    name_zh: str
    name_en: str
    category: str
    online: bool
    on_site_required: bool
    service_minutes: int
    deliverable: str
    materials_zh: list[str]
    materials_en: list[str]

    @staticmethod
    def resolve_category(obj: Business) -> str:
        return obj.category.code

    @staticmethod
    def resolve_materials_zh(obj: Business) -> list[str]:
        """What to bring to the hall, one item each (empty for a business done online)."""
        return split_lines(obj.materials_zh)

    @staticmethod
    def resolve_materials_en(obj: Business) -> list[str]:
        return split_lines(obj.materials_en)


@router.get("/categories", response=list[CategoryOut], auth=None)
def list_categories(request: HttpRequest) -> Any:
    return BusinessCategory.objects.all()


@router.get("/businesses", response=list[BusinessOut], auth=None)
def list_businesses(request: HttpRequest, online: bool | None = None) -> Any:
    queryset = Business.objects.filter(active=True).select_related("category")
    if online is not None:
        queryset = queryset.filter(online=online)
    return queryset
