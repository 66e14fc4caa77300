"""The SMS outbox (docs/architecture.md, "Side effects after commit").

`queue_sms` writes a notice in the caller's transaction, so it commits or rolls back with
the decision it announces; after the commit the background worker sends it
(`notify.delivery`). Nothing is sent from inside a transaction, and a crash between the two
loses nothing: the row is still queued and the next delivery run picks it up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from trafficdesk.core import sql
from trafficdesk.core.actions import Action
from trafficdesk.core.admin import access_policy
from trafficdesk.core.validators import mask_mobile, mask_personal_data_in_text
from trafficdesk.notify.models import DeliveryStatus, SmsMessage, SmsStatus
from trafficdesk.notify.tasks import deliver_task

retried_by_staff = Signal()
"""Sent with actor and message when staff send a failed notice again (the audit app records
it: notify sits below audit)."""

#: SMS are written in Chinese, whatever language the page that caused them was in.
SMS_LANGUAGE = "zh-hans"
#: The sender's signature that opens every SMS (the carrier requires one).
SMS_SIGNATURE = _("[Traffic police services]")


def in_sms_language(message: str | Promise) -> str:
    """`message` (a lazily translated msgid) in SMS_LANGUAGE."""
    with translation.override(SMS_LANGUAGE):
        return str(message)


def sms_template(message: str | Promise) -> str:
    """The signature and `message` in SMS_LANGUAGE, placeholders left to fill: for a caller
    that writes many notices from one template (a draw's results)."""
    return f"{in_sms_language(SMS_SIGNATURE)}{in_sms_language(message)}"


def sms_text(message: str | Promise, **params: object) -> str:
    """An SMS body: `message` (an English msgid, marked with gettext_lazy where it is
    defined) translated into SMS_LANGUAGE, filled with `params`, after the signature."""
    template = sms_template(message)
    return template % params if params else template


def outbox_row(
    phone: str, text: str, kind: str, secret: str | None = None, *, region_id: int | None = None
) -> SmsMessage:
    """A notice as the outbox keeps it (not saved): for a caller that writes it in its own
    statement (booking) and then calls `deliver_after_commit`."""
    return _row(phone, text, kind, secret, region_id)


def _row(
    phone: str, text: str, kind: str, secret: str | None = None, region_id: int | None = None
) -> SmsMessage:
    """`region_id`: the region of what the notice is about (staff of that region read it)."""
    stored = text.replace(secret, "*" * len(secret)) if secret else text
    return SmsMessage(
        kind=kind,
        region_id=region_id,
        recipient=phone,
        recipient_masked=mask_mobile(phone),
        text=text,
        body=mask_personal_data_in_text(stored),
        status=SmsStatus.QUEUED,
    )


#: When this process's last delivery task runs (epoch seconds); see `_schedule_delivery`.
_scheduled_at = [0.0]
_schedule_lock = threading.Lock()


def _schedule_delivery(ids: list[int]) -> None:
    """After a commit: make sure a delivery runs after it. Each delivery sends everything
    still queued, so one task per process every SMS_DELIVERY_BATCH_SECONDS serves all the
    notices committed before it runs, instead of one task (a database write) per notice."""
    now = time.time()
    wait = settings.SMS_DELIVERY_BATCH_SECONDS
    with _schedule_lock:
        if wait and _scheduled_at[0] > now:
            return  # a task of this process runs after this commit and sends this notice
        _scheduled_at[0] = now + wait
    if wait:
        deliver_task.using(run_after=datetime.fromtimestamp(now + wait, UTC)).enqueue(ids)
    else:
        deliver_task.enqueue(ids)


def deliver_after_commit(ids: list[int]) -> None:
    """Send these notices (and anything else queued) once the caller's transaction commits."""
    transaction.on_commit(lambda: _schedule_delivery(ids), robust=True)


def queue_sms(
    phone: str, text: str, *, kind: str, secret: str | None = None, region_id: int | None = None
) -> SmsMessage:
    """Write one notice to the outbox; it is sent after the caller's transaction commits.
    `secret` (a one-time code) is hidden in the kept copy of the text; `region_id`: the
    region of what it is about (the outbox is shown to staff of that region)."""
    message = _row(phone, text, kind, secret, region_id)
    message.save()
    deliver_after_commit([message.pk])
    return message


def queue_sms_bulk(messages: Iterable[tuple[str, str, str]]) -> int:
    """Write a great many notices (phone, text, kind) in one pass (a draw's results, up to a
    million): the same rows as `queue_sms`, written by COPY instead of one instance each.
    Returns how many were written; they are sent after the caller's transaction commits."""
    now = timezone.now()
    fields = ("created_at", "kind", "recipient_masked", "body", "backend", "status", "error",
              "recipient", "text", "claim", "attempts", "provider", "provider_message_id",
              "delivery_status")  # fmt: skip
    queued = str(SmsStatus.QUEUED)
    written = sql.copy_rows(
        SmsMessage._meta.db_table,
        fields,
        (
            (
                now,
                kind,
                mask_mobile(phone),
                mask_personal_data_in_text(text),
                "",
                queued,
                "",
                phone,
                text,
                "",
                0,
                "",
                "",
                "",
            )  # fmt: skip
            for phone, text, kind in messages
        ),
    )
    if written:
        deliver_after_commit([])
    return written


def queue_sms_many(messages: Iterable[tuple[str, str, str]]) -> list[SmsMessage]:
    """Write many notices (phone, text, kind), 2,000 to an INSERT."""
    rows = SmsMessage.objects.bulk_create(
        [_row(phone, text, kind) for phone, text, kind in messages], batch_size=2000
    )
    if rows:
        deliver_after_commit([m.pk for m in rows])
    return rows


def retry_failed(actor: object, message: SmsMessage) -> bool:
    """Staff send a failed notice again (notify.admin "retry now"): it is queued with its
    tries counted afresh and sent after the commit. Checked and audited; False if it was not
    (or no longer) a failed notice that still has its text."""
    access_policy().check(actor, Action.OUTBOX_RETRY, message)
    with transaction.atomic():
        retried = (
            SmsMessage.objects.filter(pk=message.pk, status=SmsStatus.FAILED)
            .exclude(text="")
            .update(status=SmsStatus.QUEUED, attempts=0, next_attempt_at=None, claim="")
        )
        if retried:
            retried_by_staff.send(SmsMessage, actor=actor, message=message)
            deliver_after_commit([message.pk])
    return bool(retried)


def record_receipt(
    provider: str, message_id: str, *, delivered: bool, code: str, at: datetime | None = None
) -> bool:
    """A provider's delivery receipt for its message `message_id`; False if no notice sent
    through that provider has that id."""
    changes: dict[str, object] = {
        "delivery_status": DeliveryStatus.DELIVERED if delivered else DeliveryStatus.UNDELIVERED,
        "delivered_at": (at or timezone.now()) if delivered else None,
    }
    if not delivered:
        changes["error"] = f"receipt {code}"[:300]
    return (
        SmsMessage.objects.filter(provider=provider, provider_message_id=message_id)
        .exclude(provider_message_id="")
        .update(**changes)
        > 0
    )
