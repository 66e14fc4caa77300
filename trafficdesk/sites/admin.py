from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from trafficdesk.accounts import access
from trafficdesk.core.actions import Action
from trafficdesk.core.admin import GuardedAdmin
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.sites import services
from trafficdesk.sites.models import ServicePoint, Window, Zone


class SiteAdmin(GuardedAdmin):
    view_action: ClassVar[str | None] = Action.SITE_EDIT
    change_action: ClassVar[str | None] = Action.SITE_EDIT
    add_action: ClassVar[str | None] = Action.SITE_EDIT
    delete_action: ClassVar[str | None] = Action.SITE_EDIT
    fixed_on_change: ClassVar[tuple[str, ...]] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """What may not change once created (a zone's and a window's service point)."""
        fixed = self.fixed_on_change if obj is not None else ()
        return tuple(super().get_readonly_fields(request, obj)) + fixed

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Choosers offer only what this user may use: counties, points and zones in scope."""
        user: Any = request.user
        if db_field.name == "region":
            kwargs["queryset"] = access.scope(
                user, Region.objects.filter(level=RegionLevel.COUNTY), Action.SITE_CREATE
            )
        elif db_field.name == "service_point":
            kwargs["queryset"] = access.scope(user, ServicePoint.objects.all(), Action.SITE_EDIT)
        elif db_field.name == "zone":
            kwargs["queryset"] = access.scope(
                user, Zone.objects.select_related("service_point"), Action.SITE_EDIT
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ZoneForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Zone
        fields = ("service_point", "name_zh", "name_en", "occupancy_cap", "is_open")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk and data.get("occupancy_cap") is not None:
            probe = Zone(pk=self.instance.pk, occupancy_cap=data["occupancy_cap"])
            problem = services.zone_cap_problem(probe)
            if problem:
                self.add_error("occupancy_cap", problem)
        return data


class WindowForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Window
        fields = ("service_point", "number", "kind", "zone", "businesses", "is_open")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        point = data.get("service_point") or getattr(self.instance, "service_point", None)
        problem = services.window_zone_problem(point.pk if point else None, data.get("zone"))
        if problem:
            self.add_error("zone", problem)
        return data


class ZoneInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Zone
    form = ZoneForm
    extra = 0
    fields = ("name_zh", "name_en", "occupancy_cap", "is_open", "present")
    readonly_fields = ("present",)


@admin.register(ServicePoint)
class ServicePointAdmin(SiteAdmin):
    add_action = Action.SITE_CREATE
    delete_action = None  # a service point with history is closed, not deleted
    list_display = (
        "code",
        "name_zh",
        "kind",
        "region",
        "ppe_complete",
        "service_area_m2",
        "diversion_ease",
        "designated_emergency",
        "phone",
    )
    list_filter = ("kind", "ppe_complete", "designated_emergency")
    search_fields = ("code", "name_zh", "name_en", "address")
    inlines = [ZoneInline]

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> ServicePoint:
        changed = form.changed_data if change else services.POINT_FIELDS
        return services.save_service_point(request.user, obj, changed)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """The zones of the point, each through the sites services."""
        changed_by_zone = {id(f.instance): f.changed_data for f in formset.forms}
        for zone in formset.save(commit=False):
            changed = changed_by_zone.get(id(zone)) if zone.pk else None
            services.save_zone(request.user, zone, changed or services.ZONE_FIELDS)
        for zone in formset.deleted_objects:
            services.delete_zone(request.user, zone)


@admin.register(Zone)
class ZoneAdmin(SiteAdmin):
    form = ZoneForm
    fixed_on_change = ("service_point",)
    list_display = ("service_point", "name_zh", "occupancy_cap", "present", "is_open")
    list_filter = ("is_open",)
    readonly_fields = ("present",)

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> Zone:
        changed = form.changed_data if change else services.ZONE_FIELDS
        return services.save_zone(request.user, obj, changed)

    def delete_through_service(self, request: HttpRequest, obj: Any) -> None:
        services.delete_zone(request.user, obj)


@admin.register(Window)
class WindowAdmin(SiteAdmin):
    form = WindowForm
    fixed_on_change = ("service_point",)
    list_display = ("service_point", "number", "kind", "zone", "is_open")
    list_filter = ("kind", "is_open")
    filter_horizontal = ("businesses",)

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> Window:
        changed = [f for f in form.changed_data if f != "businesses"] if change else None
        return services.save_window(
            request.user,
            obj,
            form.cleaned_data.get("businesses"),
            changed or services.WINDOW_FIELDS,
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The businesses were set by the service with the window."""

    def delete_through_service(self, request: HttpRequest, obj: Any) -> None:
        services.delete_window(request.user, obj)
