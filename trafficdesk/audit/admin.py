from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from trafficdesk.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "outcome", "ip")
    list_filter = ("outcome", "action")
    search_fields = ("actor_label", "action", "object_id", "summary")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
