from __future__ import annotations

from django.contrib import admin

from trafficdesk.core.actions import Action
from trafficdesk.core.admin import ReadOnlyAdmin
from trafficdesk.notify.models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdmin):
    view_action = Action.OUTBOX_READ
    list_display = ("created_at", "kind", "recipient_masked", "status", "body", "sent_at")
    list_filter = ("kind", "status")
    search_fields = ("kind", "recipient_masked")
    exclude = ("recipient", "text", "claim", "claimed_at")
