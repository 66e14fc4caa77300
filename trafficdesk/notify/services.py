"""The SMS outbox (docs/architecture.md, "Side effects after commit").

`queue_sms` writes a notice in the caller's transaction, so it commits or rolls back with
the decision it announces; after the commit the background worker sends it
(`notify.delivery`). Nothing is sent from inside a transaction, and a crash between the two
loses nothing: the row is still queued and the next delivery run picks it up.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from trafficdesk.core.validators import mask_mobile, mask_personal_data_in_text
from trafficdesk.notify.models import SmsMessage, SmsStatus
from trafficdesk.notify.tasks import deliver_task


def _row(phone: str, text: str, kind: str, secret: str | None = None) -> SmsMessage:
    stored = text.replace(secret, "*" * len(secret)) if secret else text
    return SmsMessage(
        kind=kind,
        recipient=phone,
        recipient_masked=mask_mobile(phone),
        text=text,
        body=mask_personal_data_in_text(stored),
        status=SmsStatus.QUEUED,
    )


def _deliver_after_commit(ids: list[int]) -> None:
    transaction.on_commit(lambda: deliver_task.enqueue(ids), robust=True)


def queue_sms(phone: str, text: str, *, kind: str, secret: str | None = None) -> SmsMessage:
    """Write one notice to the outbox; it is sent after the caller's transaction commits.
    `secret` (a one-time code) is hidden in the kept copy of the text."""
    message = _row(phone, text, kind, secret)
    message.save()
    _deliver_after_commit([message.pk])
    return message


def queue_sms_many(messages: Iterable[tuple[str, str, str]]) -> list[SmsMessage]:
    """Write many notices (phone, text, kind), 2,000 to an INSERT."""
    rows = SmsMessage.objects.bulk_create(
        [_row(phone, text, kind) for phone, text, kind in messages], batch_size=2000
    )
    if rows:
        _deliver_after_commit([m.pk for m in rows])
    return rows
