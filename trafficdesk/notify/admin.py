from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from trafficdesk.notify.models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "recipient_masked", "status", "body")
    list_filter = ("kind", "status")
    search_fields = ("kind", "recipient_masked")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
