from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from trafficdesk.accounts import access
from trafficdesk.core.actions import Action
from trafficdesk.core.admin import GuardedAdmin
from trafficdesk.deferral import services
from trafficdesk.deferral.models import DeferralWindow
from trafficdesk.regions.models import Region


@admin.register(DeferralWindow)
class DeferralWindowAdmin(GuardedAdmin):
    """Opening, moving the end of, or changing a window goes through the deferral services
    (access-checked and audited there)."""

    view_action = Action.DEFERRAL_OPEN
    change_action = Action.DEFERRAL_OPEN
    add_action = Action.DEFERRAL_OPEN
    list_display = (
        "name",
        "region",
        "starts_on",
        "ends_on",
        "grace_days",
        "covers_renewal",
        "covers_review",
        "covers_inspection",
    )
    exclude = ("author",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "region":
            kwargs["queryset"] = access.scope(
                request.user, Region.objects.all(), Action.DEFERRAL_OPEN
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> DeferralWindow:
        if change:
            return services.update_window(request.user, obj, form.changed_data)
        kinds = tuple(
            kind
            for kind, covered in (
                ("renewal", obj.covers_renewal),
                ("review", obj.covers_review),
                ("inspection", obj.covers_inspection),
            )
            if covered
        )
        return services.open_window(
            request.user,
            obj.region,
            name=obj.name,
            starts_on=obj.starts_on,
            ends_on=obj.ends_on,
            kinds=kinds,
            grace_days=obj.grace_days,
        )
