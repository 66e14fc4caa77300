from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.http import HttpRequest

from trafficdesk.core.admin import AppendOnlyAdmin, AuditedAdmin, RegionScopedAdmin
from trafficdesk.regions import services
from trafficdesk.regions.models import Region, RiskAssessment


@admin.register(Region)
class RegionAdmin(AuditedAdmin):
    list_display = ("code", "name_zh", "name_en", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name_zh", "name_en")
    readonly_fields = ("path",)
    raw_id_fields = ("parent",)


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
class RiskAssessmentAdmin(AppendOnlyAdmin, RegionScopedAdmin):
    """Risk history is append-only: an assessment is added, never edited or deleted."""

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

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        created = services.set_risk_level(
            request.user,
            obj.region,
            obj.level,
            reason=obj.reason,
            effective_from=obj.effective_from,
        )
        obj.pk = created.pk
