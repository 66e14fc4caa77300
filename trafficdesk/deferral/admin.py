from __future__ import annotations

from django.contrib import admin

from trafficdesk.core.admin import RegionScopedAdmin
from trafficdesk.deferral.models import DeferralWindow


@admin.register(DeferralWindow)
class DeferralWindowAdmin(RegionScopedAdmin):
    """Opening, moving the end of, or closing a window is audited (RegionScopedAdmin)."""

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

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "region":
            from trafficdesk.policy.services import regions_for
            from trafficdesk.regions.models import Region

            user = request.user
            kwargs["queryset"] = (
                Region.objects.all()
                if user.is_superuser
                else Region.objects.filter(regions_for(user))
            )
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
