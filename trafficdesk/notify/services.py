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


def send_sms_many(messages: list[tuple[str, str, str]]) -> list[SmsMessage]:
    """Send many messages (phone, text, kind) and record them with one INSERT."""
    backend = sms_backend()
    rows = []
    for phone, text, kind in messages:
        status, error = SmsStatus.SENT, ""
        try:
            backend.send(phone, text)
        except Exception as exc:  # noqa: BLE001 - recorded, not raised
            status, error = SmsStatus.FAILED, str(exc)[:300]
        rows.append(
            SmsMessage(
                kind=kind,
                recipient_masked=mask_mobile(phone),
                body=mask_personal_data_in_text(text),
                backend=settings.SMS_BACKEND,
                status=status,
                error=error,
            )
        )
    return SmsMessage.objects.bulk_create(rows, batch_size=2000)
