from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.http import HttpRequest

from trafficdesk.core.actions import Action
from trafficdesk.core.admin import AppendOnlyAdmin, GuardedAdmin
from trafficdesk.regions import services
from trafficdesk.regions.models import Region, RiskAssessment


@admin.register(Region)
class RegionAdmin(GuardedAdmin):
    """GB/T 2260 reference data: names may be corrected (audited); codes are the standard's."""

    view_action = Action.REGION_VIEW
    change_action = Action.REGION_EDIT
    list_display = ("code", "name_zh", "name_en", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name_zh", "name_en")
    fields = ("code", "name_zh", "name_en", "level", "parent", "path")
    readonly_fields = ("code", "level", "parent", "path")

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> Region:
        return services.rename_region(request.user, obj, obj.name_zh, obj.name_en)


class RiskAssessmentForm(ModelForm):
    actor: Any = None

    class Meta:
        model = RiskAssessment
        fields = ("region", "level", "effective_from", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        region = data.get("region")
        if region is not None:
            problem = services.risk_change_problem(self.actor, region)
            if problem:
                raise ValidationError(problem)
        return data


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(AppendOnlyAdmin):
    """Risk history is append-only: an assessment is added, never edited or deleted."""

    view_action = Action.RISK_SET
    add_action = Action.RISK_SET
    form = RiskAssessmentForm
    list_display = ("region", "level", "effective_from", "author", "reason", "recorded_at")
    list_filter = ("level",)
    search_fields = ("region__code", "region__name_zh", "reason")
    date_hierarchy = "effective_from"

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.actor = request.user  # type: ignore[attr-defined]
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "region":
            kwargs["queryset"] = services.counties_for(request.user, Action.RISK_SET)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> RiskAssessment:
        return services.set_risk_level(
            request.user,
            obj.region,
            obj.level,
            reason=obj.reason,
            effective_from=obj.effective_from,
        )
