from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.actions import Action
from trafficdesk.core.admin import ReadOnlyAdmin
from trafficdesk.notify.models import SmsMessage, SmsStatus
from trafficdesk.notify.services import retry_failed

#: A provider's error code (or the start of one) in plain words, for staff.
ERROR_WORDS: tuple[tuple[str, Promise], ...] = (
    ("network", _("the SMS gateway could not be reached")),
    ("http-5", _("the SMS gateway had a fault")),
    ("isv.BUSINESS_LIMIT_CONTROL", _("the provider limited sending to this number for now")),
    ("isv.DAY_LIMIT_CONTROL", _("the provider limited sending to this number for now")),
    ("LimitExceeded", _("the provider limited sending to this number for now")),
    ("Throttling", _("the provider limited sending to this number for now")),
    ("RequestLimitExceeded", _("the provider limited sending to this number for now")),
    ("isv.MOBILE_NUMBER_ILLEGAL", _("the mobile number is not valid")),
    ("InvalidParameterValue.IncorrectPhoneNumber", _("the mobile number is not valid")),
    ("isv.SMS_TEMPLATE_ILLEGAL", _("the provider does not accept the SMS template")),
    ("isv.TEMPLATE_MISSING_PARAMETERS", _("the provider does not accept the SMS template")),
    (
        "FailedOperation.TemplateIncorrectOrUnapproved",
        _("the provider does not accept the SMS template"),
    ),  # fmt: skip
    ("no-template", _("no SMS template is configured for this kind of notice")),
    ("isv.SMS_SIGNATURE_ILLEGAL", _("the provider does not accept the SMS signature")),
    (
        "FailedOperation.SignatureIncorrectOrUnapproved",
        _("the provider does not accept the SMS signature"),
    ),  # fmt: skip
    ("SignatureDoesNotMatch", _("the SMS gateway credentials are wrong")),
    ("InvalidAccessKeyId", _("the SMS gateway credentials are wrong")),
    ("AuthFailure", _("the SMS gateway credentials are wrong")),
    ("receipt", _("the phone did not receive it")),
)


def error_in_words(error: str) -> str:
    if not error:
        return ""
    for code, words in ERROR_WORDS:
        if error.startswith(code):
            return f"{words} ({error.split(':', 1)[0]})"
    return gettext("the SMS could not be sent (%(error)s)") % {"error": error[:80]}


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdmin):
    view_action = Action.OUTBOX_READ
    list_display = (
        "created_at",
        "kind",
        "region",
        "recipient_masked",
        "status",
        "attempts",
        "last_error",
        "provider",
        "delivery_status",
        "sent_at",
    )
    list_filter = ("kind", "status", "delivery_status")
    search_fields = ("kind", "recipient_masked", "provider_message_id")
    exclude = ("recipient", "text", "claim", "claimed_at")
    actions = ("retry_now",)

    def get_exclude(self, request: HttpRequest, obj: SmsMessage | None = None) -> Any:
        """A notice about no region (a citizen's login code) is shown without its text, even
        to the province-level staff who may see it (accounts.access scopes the list)."""
        hidden = tuple(super().get_exclude(request, obj) or ())
        return hidden + ("body",) if obj is not None and obj.region_id is None else hidden

    @admin.display(description=_("last error"))
    def last_error(self, obj: SmsMessage) -> str:
        return error_in_words(obj.error)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return self._allows(request, Action.OUTBOX_RETRY)

    @admin.action(description=_("Send the failed SMS again now"), permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        retried = 0
        for message in queryset.filter(status=SmsStatus.FAILED):
            try:
                retried += retry_failed(request.user, message)
            except PermissionDenied as exc:
                messages.error(request, str(exc))
                return
        messages.success(
            request, gettext("%(count)d failed SMS queued to be sent again.") % {"count": retried}
        )
