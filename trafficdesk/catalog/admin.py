from __future__ import annotations

from django.contrib import admin

from trafficdesk.catalog.models import Business, BusinessCategory
from trafficdesk.core.admin import AuditedAdmin


@admin.register(BusinessCategory)
class BusinessCategoryAdmin(AuditedAdmin):
    list_display = ("code", "name_zh", "name_en")
    search_fields = ("code", "name_zh", "name_en")


@admin.register(Business)
class BusinessAdmin(AuditedAdmin):
    list_display = (
        "code",
        "name_zh",
        "name_en",
        "category",
        "online",
        "on_site_required",
        "service_minutes",
        "deliverable",
        "active",
    )
    list_filter = ("category", "online", "on_site_required", "deliverable", "active")
    search_fields = ("code", "name_zh", "name_en")
