from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from trafficdesk.booking import rush as rush_rules
from trafficdesk.booking.models import Booking, RushWindow, Slot
from trafficdesk.core.admin import ReadOnlyAdmin, RegionScopedAdmin


@admin.register(Slot)
class SlotAdmin(ReadOnlyAdmin, RegionScopedAdmin):
    region_lookup = "service_point__region"
    list_display = (
        "service_point",
        "category",
        "starts_at",
        "booked_people",
        "capacity_people",
        "booked_minutes",
        "capacity_minutes",
        "priority_reserved_minutes",
    )
    list_filter = ("category",)
    date_hierarchy = "starts_at"


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin, RegionScopedAdmin):
    region_lookup = "slot__service_point__region"
    list_display = ("id", "slot", "id_masked", "applicant_class", "status", "moves", "created_at")
    list_filter = ("status", "applicant_class")
    exclude = ("id_digest", "token")


@admin.register(RushWindow)
class RushWindowAdmin(ReadOnlyAdmin, RegionScopedAdmin):
    region_lookup = "service_point__region"
    list_display = (
        "id",
        "service_point",
        "business",
        "opens_at",
        "closes_at",
        "status",
        "result_digest",
    )
    exclude = ("seed",)
    actions = ["allocate", "verify"]

    @admin.action(description="Allocate closed windows now")
    def allocate(self, request: HttpRequest, queryset: Any) -> None:
        for rush in queryset:
            outcome = rush_rules.allocate_rush(rush.pk)
            messages.info(request, f"rush {rush.pk}: {outcome['won']} won, {outcome['lost']} lost")

    @admin.action(description="Re-run the draw and compare")
    def verify(self, request: HttpRequest, queryset: Any) -> None:
        for rush in queryset:
            messages.info(
                request,
                f"rush {rush.pk}: {'same result' if rush_rules.verify(rush) else 'DIFFERENT or not allocated'}",
            )
