from __future__ import annotations

from django.contrib import admin

from trafficdesk.audit.models import AuditEntry
from trafficdesk.core.actions import Action
from trafficdesk.core.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    view_action = Action.AUDIT_READ
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "outcome", "ip")
    list_filter = ("outcome", "action")
    search_fields = ("actor_label", "action", "object_id", "summary")
    date_hierarchy = "at"
