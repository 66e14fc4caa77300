"""Admin mixins: region scoping and auditing for every staff change made in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from trafficdesk.accounts.services import ensure_can_act_in
from trafficdesk.audit.services import record


class AppendOnlyAdmin(admin.ModelAdmin):
    """Records are added (through a service) and kept: nobody changes or deletes them."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(AppendOnlyAdmin):
    """Records written by the system; staff only read them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Writes an audit entry for each add, change and delete done through the admin."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        action = f"{obj._meta.model_name}.{'change' if change else 'add'}"
        changed = list(form.changed_data) if change else []
        record(request.user, action, target=obj, summary=str(obj), detail={"fields": changed})

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        for formset in formsets:
            for obj in formset.new_objects + [o for o, _f in formset.changed_objects]:
                record(request.user, f"{obj._meta.model_name}.save", target=obj, summary=str(obj))
            for obj in formset.deleted_objects:
                record(request.user, f"{obj._meta.model_name}.delete", summary=str(obj))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        label, pk = str(obj), obj.pk
        super().delete_model(request, obj)
        record(request.user, f"{obj._meta.model_name}.delete", summary=label, detail={"pk": pk})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class RegionScopedAdmin(AuditedAdmin):
    """Staff see and change only objects within their own region. Superusers see all."""

    region_lookup = "region"

    def _region_of(self, obj: Any) -> Any:
        target = obj
        for part in self.region_lookup.split("__"):
            target = getattr(target, part)
        return target

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user: Any = request.user
        if user.is_superuser:
            return queryset
        if user.region is None:
            return queryset.none()
        own = user.region.path
        return queryset.filter(
            models.Q(**{f"{self.region_lookup}__path": own})
            | models.Q(**{f"{self.region_lookup}__path__startswith": own + "/"})
        )

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        ensure_can_act_in(request.user, self._region_of(obj), action=f"{obj._meta.model_name}.save")
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        user: Any = request.user
        if db_field.name == "region" and not user.is_superuser and user.region is not None:
            from trafficdesk.regions.models import Region

            own = user.region.path
            kwargs["queryset"] = Region.objects.filter(
                models.Q(path=own) | models.Q(path__startswith=own + "/"), level="county"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
