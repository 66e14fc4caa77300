from __future__ import annotations

from django.contrib import admin

from trafficdesk.core.admin import ReadOnlyAdmin
from trafficdesk.notify.models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "recipient_masked", "status", "body")
    list_filter = ("kind", "status")
    search_fields = ("kind", "recipient_masked")
