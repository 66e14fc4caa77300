from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from trafficdesk.core.validators import mask_mobile, mask_personal_data_in_text
from trafficdesk.notify.backends import SmsBackend
from trafficdesk.notify.models import SmsMessage, SmsStatus


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend


def send_sms(phone: str, text: str, *, kind: str, secret: str | None = None) -> SmsMessage:
    """Send one SMS and keep it in the outbox; `secret` (a one-time code) is hidden there."""
    backend = sms_backend()
    stored = text.replace(secret, "*" * len(secret)) if secret else text
    stored = mask_personal_data_in_text(stored)
    try:
        backend.send(phone, text)
    except Exception as exc:  # noqa: BLE001 - any backend failure is recorded, not raised
        return SmsMessage.objects.create(
            kind=kind,
            recipient_masked=mask_mobile(phone),
            body=stored,
            backend=settings.SMS_BACKEND,
            status=SmsStatus.FAILED,
            error=str(exc)[:300],
        )
    return SmsMessage.objects.create(
        kind=kind,
        recipient_masked=mask_mobile(phone),
        body=stored,
        backend=settings.SMS_BACKEND,
        status=SmsStatus.SENT,
    )
