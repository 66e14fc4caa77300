from __future__ import annotations

from django.contrib import admin

from trafficdesk.core.admin import RegionScopedAdmin
from trafficdesk.sites.models import ServicePoint, Window, Zone


class ZoneInline(admin.TabularInline):
    model = Zone
    extra = 0


class WindowInline(admin.TabularInline):
    model = Window
    extra = 0
    filter_horizontal = ("businesses",)


@admin.register(ServicePoint)
class ServicePointAdmin(RegionScopedAdmin):
    list_display = (
        "code",
        "name_zh",
        "kind",
        "region",
        "ppe_complete",
        "service_area_m2",
        "diversion_ease",
        "designated_emergency",
    )
    list_filter = ("kind", "ppe_complete", "designated_emergency")
    search_fields = ("code", "name_zh", "name_en", "address")
    inlines = [ZoneInline]


@admin.register(Zone)
class ZoneAdmin(RegionScopedAdmin):
    region_lookup = "service_point__region"
    list_display = ("service_point", "name_zh", "occupancy_cap", "is_open")
    list_filter = ("is_open",)


@admin.register(Window)
class WindowAdmin(RegionScopedAdmin):
    region_lookup = "service_point__region"
    list_display = ("service_point", "number", "kind", "zone", "is_open")
    list_filter = ("kind", "is_open")
    filter_horizontal = ("businesses",)
