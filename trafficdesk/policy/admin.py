from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from trafficdesk.accounts import access
from trafficdesk.core.actions import Action
from trafficdesk.core.admin import AppendOnlyAdmin, ReadOnlyAdmin
from trafficdesk.policy import services
from trafficdesk.policy.models import DomainEvent, PhaseSetting, PolicyVersion
from trafficdesk.regions.services import regions_for


class PolicyVersionForm(forms.ModelForm):  # type: ignore[type-arg]
    document = forms.CharField(
        label=_("policy document (JSON)"), widget=forms.Textarea(attrs={"rows": 30, "cols": 100})
    )

    class Meta:
        model = PolicyVersion
        fields = ("document", "effective_from", "reason")

    def clean_document(self) -> dict[str, Any]:
        try:
            raw = json.loads(self.cleaned_data["document"])
        except json.JSONDecodeError as exc:
            raise ValidationError(_("Not valid JSON: %(error)s") % {"error": exc}) from exc
        try:
            return services.parse_policy(raw).model_dump(mode="json")
        except services.InvalidPolicyChange as exc:
            raise ValidationError(str(exc)) from exc


@admin.register(PolicyVersion)
class PolicyVersionAdmin(AppendOnlyAdmin):
    """Every change is a new version with a reason and an effective time; old ones stay."""

    view_action = Action.POLICY_OVERVIEW
    add_action = Action.POLICY_PUBLISH
    form = PolicyVersionForm
    list_display = ("__str__", "effective_from", "author", "reason", "created_at")
    readonly_fields = ("author", "created_at")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"document": services.current_policy().to_json()}

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> PolicyVersion:
        return services.publish_policy(
            request.user,
            form.cleaned_data["document"],
            reason=obj.reason,
            effective_from=obj.effective_from,
        )


class PhaseSettingForm(forms.ModelForm):  # type: ignore[type-arg]
    actor: Any = None

    class Meta:
        model = PhaseSetting
        fields = ("region", "phase", "effective_from", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        region = data.get("region")
        if region is not None:
            problem = access.why_not(self.actor, Action.PHASE_SET, region)
            if problem:
                raise ValidationError(problem)
        return data


@admin.register(PhaseSetting)
class PhaseSettingAdmin(AppendOnlyAdmin):
    view_action = Action.PHASE_SET
    add_action = Action.PHASE_SET
    form = PhaseSettingForm
    list_display = ("region", "phase", "effective_from", "author", "reason", "recorded_at")
    list_filter = ("phase",)
    search_fields = ("region__code", "region__name_zh", "reason")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.actor = request.user  # type: ignore[attr-defined]
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "region":
            kwargs["queryset"] = regions_for(request.user, Action.PHASE_SET)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> PhaseSetting:
        return services.set_phase(
            request.user,
            obj.region,
            obj.phase,
            reason=obj.reason,
            effective_from=obj.effective_from,
        )


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    view_action = Action.EVENTS_READ
    list_display = ("created_at", "kind", "region", "effective_from", "summary", "handled_at")
    list_filter = ("kind",)
