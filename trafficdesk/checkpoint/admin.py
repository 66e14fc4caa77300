from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from trafficdesk.accounts import access
from trafficdesk.checkpoint import services
from trafficdesk.checkpoint.models import Checkpoint
from trafficdesk.core.actions import Action
from trafficdesk.core.admin import GuardedAdmin
from trafficdesk.regions.models import Region, RegionLevel


@admin.register(Checkpoint)
class CheckpointAdmin(GuardedAdmin):
    view_action = Action.CHECKPOINT_EDIT
    change_action = Action.CHECKPOINT_EDIT
    add_action = Action.CHECKPOINT_EDIT
    list_display = ("code", "name_zh", "kind", "region", "road", "active")
    list_filter = ("kind", "active")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "region":
            kwargs["queryset"] = access.scope(
                request.user,
                Region.objects.filter(level=RegionLevel.COUNTY),
                Action.CHECKPOINT_EDIT,
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> Checkpoint:
        changed = form.changed_data if change else services.CHECKPOINT_FIELDS
        return services.save_checkpoint(request.user, obj, changed)
