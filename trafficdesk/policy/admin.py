from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from trafficdesk.accounts.services import can_act_in
from trafficdesk.core.admin import AppendOnlyAdmin, ReadOnlyAdmin, RegionScopedAdmin
from trafficdesk.policy import services
from trafficdesk.policy.models import DomainEvent, PhaseSetting, PolicyVersion


class PolicyVersionForm(forms.ModelForm):
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

    form = PolicyVersionForm
    list_display = ("__str__", "effective_from", "author", "reason", "created_at")
    readonly_fields = ("author", "created_at")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"document": services.current_policy().to_json()}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        version = services.publish_policy(
            request.user,
            form.cleaned_data["document"],
            reason=obj.reason,
            effective_from=obj.effective_from,
        )
        obj.pk = version.pk


class PhaseSettingForm(forms.ModelForm):
    actor: Any = None

    class Meta:
        model = PhaseSetting
        fields = ("region", "phase", "effective_from", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        region = data.get("region")
        if region is not None and not can_act_in(self.actor, region):
            raise ValidationError(
                _("%(region)s is outside your region of authority.") % {"region": region}
            )
        return data


@admin.register(PhaseSetting)
class PhaseSettingAdmin(AppendOnlyAdmin, RegionScopedAdmin):
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
            from trafficdesk.regions.models import Region

            user: Any = request.user
            kwargs["queryset"] = (
                Region.objects.all()
                if user.is_superuser
                else Region.objects.filter(services.regions_for(user))
            )
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        setting = services.set_phase(
            request.user,
            obj.region,
            obj.phase,
            reason=obj.reason,
            effective_from=obj.effective_from,
        )
        obj.pk = setting.pk


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "region", "effective_from", "summary", "handled_at")
    list_filter = ("kind",)
