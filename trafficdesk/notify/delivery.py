"""Sending what the outbox holds: run by the background worker, never inside a transaction.

Messages are claimed with a conditional UPDATE that stamps a claim token, so two workers
never send the same message. Just before each send the worker renews its claim (another
conditional UPDATE): a claim left by a crashed worker is taken again after STALE_CLAIM, and
a worker whose claim was taken over does not send. A message goes out twice only if one
send takes longer than STALE_CLAIM (at-least-once delivery). A failed send is tried again
up to MAX_ATTEMPTS times."""

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
BATCH = 500
MAX_ATTEMPTS = 3


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend


def _pending(now: datetime) -> Q:
    return Q(status=SmsStatus.QUEUED) | Q(
        status=SmsStatus.SENDING, claimed_at__lt=now - STALE_CLAIM
    )


def claim(
    ids: Sequence[int] | None = None, *, limit: int = BATCH, untried_since: datetime | None = None
) -> list[SmsMessage]:
    """Claim up to `limit` pending messages (these ones, or any); with `untried_since`, not
    those tried since then (a failed message waits for the next run). Returns those claimed."""
    now = timezone.now()
    candidates = SmsMessage.objects.filter(_pending(now))
    if ids is not None:
        candidates = candidates.filter(pk__in=list(ids))
    if untried_since is not None:
        candidates = candidates.filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=untried_since))
    wanted = list(candidates.order_by("id").values_list("id", flat=True)[:limit])
    if not wanted:
        return []
    token = secrets.token_hex(16)
    SmsMessage.objects.filter(_pending(now), pk__in=wanted).update(
        status=SmsStatus.SENDING, claimed_at=now, claim=token
    )
    return list(SmsMessage.objects.filter(claim=token, status=SmsStatus.SENDING).order_by("id"))


def _still_ours(message: SmsMessage) -> bool:
    """Renew this worker's claim just before sending; False if another worker took it."""
    return (
        SmsMessage.objects.filter(
            pk=message.pk, claim=message.claim, status=SmsStatus.SENDING
        ).update(claimed_at=timezone.now())
        == 1
    )


def send_claimed(messages: Sequence[SmsMessage]) -> int:
    backend = sms_backend()
    sent = 0
    for message in messages:
        if not _still_ours(message):
            continue
        try:
            backend.send(message.recipient, message.text)
        except Exception as exc:  # noqa: BLE001 - any backend failure is recorded, not raised
            _failed(message, str(exc)[:300])
            continue
        SmsMessage.objects.filter(pk=message.pk, claim=message.claim).update(
            status=SmsStatus.SENT,
            error="",
            backend=settings.SMS_BACKEND,
            sent_at=timezone.now(),
            recipient="",
            text="",
        )
        sent += 1
    return sent


def _failed(message: SmsMessage, error: str) -> None:
    """Queue a failed message again, or give up after MAX_ATTEMPTS (then the full number and
    text are blanked as for a sent one)."""
    attempts = message.attempts + 1
    final = attempts >= MAX_ATTEMPTS
    changes: dict[str, object] = {
        "attempts": attempts,
        "error": error,
        "backend": settings.SMS_BACKEND,
        "status": SmsStatus.FAILED if final else SmsStatus.QUEUED,
        "claim": "",
    }
    if final:
        changes.update(recipient="", text="", sent_at=timezone.now())
    SmsMessage.objects.filter(pk=message.pk, claim=message.claim).update(**changes)


def deliver(ids: Sequence[int] | None = None) -> int:
    """Send these pending messages (or every pending one, in batches); returns how many were
    sent. Each message is tried once per call."""
    handled = 0
    started = timezone.now()
    while True:
        batch = claim(ids, untried_since=started)
        if not batch:
            return handled
        handled += send_claimed(batch)
        if ids is not None:
            return handled


def deliver_pending() -> int:
    """Send everything still queued (the worker's sweep; also `manage.py deliver_notices`)."""
    return deliver(None)
