from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trafficdesk.booking import numbers
from trafficdesk.booking import rush as rush_rules
from trafficdesk.booking.models import Booking, RushWindow, Slot
from trafficdesk.core.actions import Action
from trafficdesk.core.admin import ReadOnlyAdmin


@admin.register(Slot)
class SlotAdmin(ReadOnlyAdmin):
    view_action = Action.BOOKING_RECORDS
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
class BookingAdmin(ReadOnlyAdmin):
    view_action = Action.BOOKING_RECORDS
    list_display = (
        "id",
        "number",
        "slot",
        "id_masked",
        "applicant_class",
        "status",
        "moves",
        "created_at",
    )
    list_filter = ("status", "applicant_class")
    search_fields = ("=number",)  # the booking number a citizen reads out (预约号)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Booking], search_term: str
    ) -> tuple[QuerySet[Booking], bool]:
        """The number as a citizen reads or types it ("7kq4 m2xp", "7KQ4-M2XP")."""
        return super().get_search_results(
            request, queryset, numbers.normalise(search_term) or search_term
        )

    exclude = ("id_digest", "token")


@admin.register(RushWindow)
class RushWindowAdmin(ReadOnlyAdmin):
    view_action = Action.RUSH_ALLOCATE
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

    @admin.action(description=gettext_lazy("Allocate closed windows now"))
    def allocate(self, request: HttpRequest, queryset: Any) -> None:
        for window in queryset:
            outcome = rush_rules.allocate_now(request.user, window)
            messages.info(
                request,
                _("Draw %(id)s: %(won)d won, %(lost)d not won.")
                % {"id": window.pk, "won": outcome["won"], "lost": outcome["lost"]},
            )

    @admin.action(description=gettext_lazy("Re-run the draw and compare"))
    def verify(self, request: HttpRequest, queryset: Any) -> None:
        for window in queryset:
            same = rush_rules.verify(window)
            messages.info(
                request,
                _("Draw %(id)s: the same result.") % {"id": window.pk}
                if same
                else _("Draw %(id)s: not allocated yet, or a different result.")
                % {"id": window.pk},
            )
