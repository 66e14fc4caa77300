from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from trafficdesk.catalog import services
from trafficdesk.catalog.models import Business, BusinessCategory
from trafficdesk.core.actions import Action
from trafficdesk.core.admin import GuardedAdmin


class CatalogAdmin(GuardedAdmin):
    """The catalogue is province-wide: everyone with the admin sees it, a province
    administrator changes it."""

    view_action = Action.ADMIN_SITE
    change_action = Action.CATALOG_EDIT
    add_action = Action.CATALOG_EDIT


@admin.register(BusinessCategory)
class BusinessCategoryAdmin(CatalogAdmin):
    list_display = ("code", "name_zh", "name_en")
    search_fields = ("code", "name_zh", "name_en")

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> BusinessCategory:
        changed = form.changed_data if change else services.CATEGORY_FIELDS
        return services.save_category(request.user, obj, changed)


@admin.register(Business)
class BusinessAdmin(CatalogAdmin):
    list_display = (
        "code",
        "name_zh",
        "name_en",
        "category",
        "online",
        "on_site_required",
        "service_minutes",
        "deliverable",
        "active",
    )
    list_filter = ("category", "online", "on_site_required", "deliverable", "active")
    search_fields = ("code", "name_zh", "name_en")

    def save_through_service(
        self, request: HttpRequest, obj: Any, form: ModelForm, change: bool
    ) -> Business:
        changed = form.changed_data if change else services.BUSINESS_FIELDS
        return services.save_business(request.user, obj, changed)
