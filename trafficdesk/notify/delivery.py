"""Sending what the outbox holds: run by the background worker, never inside a transaction.

Messages are claimed with a conditional UPDATE that stamps a claim token, so two workers
never send the same message; a claim left by a crashed worker is taken again after
STALE_CLAIM (at-least-once delivery)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from trafficdesk.notify.backends import SmsBackend
from trafficdesk.notify.models import SmsMessage, SmsStatus

STALE_CLAIM = timedelta(minutes=5)
BATCH = 2000


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend


def _pending(now: datetime) -> Q:
    return Q(status=SmsStatus.QUEUED) | Q(
        status=SmsStatus.SENDING, claimed_at__lt=now - STALE_CLAIM
    )


def claim(ids: Sequence[int] | None = None, *, limit: int = BATCH) -> list[SmsMessage]:
    """Claim up to `limit` pending messages (these ones, or any); returns those claimed."""
    now = timezone.now()
    candidates = SmsMessage.objects.filter(_pending(now))
    if ids is not None:
        candidates = candidates.filter(pk__in=list(ids))
    wanted = list(candidates.order_by("id").values_list("id", flat=True)[:limit])
    if not wanted:
        return []
    token = secrets.token_hex(16)
    SmsMessage.objects.filter(_pending(now), pk__in=wanted).update(
        status=SmsStatus.SENDING, claimed_at=now, claim=token
    )
    return list(SmsMessage.objects.filter(claim=token, status=SmsStatus.SENDING).order_by("id"))


def send_claimed(messages: Sequence[SmsMessage]) -> int:
    backend = sms_backend()
    for message in messages:
        status, error = SmsStatus.SENT, ""
        try:
            backend.send(message.recipient, message.text)
        except Exception as exc:  # noqa: BLE001 - any backend failure is recorded, not raised
            status, error = SmsStatus.FAILED, str(exc)[:300]
        SmsMessage.objects.filter(pk=message.pk, claim=message.claim).update(
            status=status,
            error=error,
            backend=settings.SMS_BACKEND,
            sent_at=timezone.now(),
            recipient="",
            text="",
        )
    return len(messages)


def deliver(ids: Sequence[int] | None = None) -> int:
    """Send these pending messages (or every pending one, in batches); returns how many."""
    handled = 0
    while True:
        batch = claim(ids)
        if not batch:
            return handled
        handled += send_claimed(batch)
        if ids is not None:
            return handled


def deliver_pending() -> int:
    """Send everything still queued (the worker's sweep; also `manage.py deliver_notices`)."""
    return deliver(None)
