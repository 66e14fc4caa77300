"""Sending what the outbox holds: run by the background worker, never inside a transaction.

Messages are claimed with a conditional UPDATE that stamps a claim token, so two workers
never send the same message. Just before each send the worker renews its claim (another
conditional UPDATE): a claim left by a crashed worker is taken again after STALE_CLAIM, and
a worker whose claim was taken over does not send. A message goes out twice only if one
send takes longer than STALE_CLAIM (at-least-once delivery).

A transient failure (the network, a 5xx, the provider's throttling) is tried again after an
exponential back-off (SMS_RETRY_BASE_SECONDS, doubled each time; `next_attempt_at`), up to
SMS_MAX_ATTEMPTS tries; a permanent one (a wrong number, a template the provider refuses)
fails at once. A failed notice keeps its number and text so that staff can send it again
(`services.retry_failed`); a sent one keeps only the masked copies."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from trafficdesk.notify.backends import SmsBackend
from trafficdesk.notify.gateways import ALIASES, GatewayError
from trafficdesk.notify.models import SmsMessage, SmsStatus

STALE_CLAIM = timedelta(minutes=5)
BATCH = 500


def max_attempts() -> int:
    return int(settings.SMS_MAX_ATTEMPTS)


def backend_path() -> str:
    return ALIASES.get(settings.SMS_BACKEND, settings.SMS_BACKEND)


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(backend_path())()
    return backend


def provider_name(backend: SmsBackend) -> str:
    return str(getattr(backend, "provider", "") or backend_path().rsplit(".", 1)[-1])[:20]


def back_off(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: base, 2×base, 4×base… (≤ 1 day)."""
    base = float(settings.SMS_RETRY_BASE_SECONDS)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 86400))


def _pending(now: datetime) -> Q:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return (Q(status=SmsStatus.QUEUED) & due) | Q(
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
    provider = provider_name(backend)
    sent = 0
    for message in messages:
        if not _still_ours(message):
            continue
        try:
            message_id = backend.send(message.recipient, message.text, kind=message.kind)
        except GatewayError as exc:
            _failed(message, str(exc)[:300], provider, permanent=not exc.transient)
            continue
        except Exception as exc:  # noqa: BLE001 - any backend failure is recorded, not raised
            _failed(message, str(exc)[:300], provider, permanent=False)
            continue
        SmsMessage.objects.filter(pk=message.pk, claim=message.claim).update(
            status=SmsStatus.SENT,
            attempts=message.attempts + 1,
            error="",
            backend=backend_path()[:120],
            provider=provider,
            provider_message_id=str(message_id or "")[:64],
            next_attempt_at=None,
            sent_at=timezone.now(),
            recipient="",
            text="",
        )
        sent += 1
    return sent


#: Notices whose text is never kept once they have failed (a one-time login code).
NEVER_KEPT_KINDS = frozenset({"login_code"})


def _failed(message: SmsMessage, error: str, provider: str, *, permanent: bool) -> None:
    """Queue a failed message again after its back-off, or mark it failed: at once for a
    permanent failure, after SMS_MAX_ATTEMPTS tries for a transient one. A failed one keeps
    its full number and text, for staff to send it again, except a login code: it is useless
    minutes later and must not sit in the outbox (the citizen asks for a new one)."""
    attempts = message.attempts + 1
    final = permanent or attempts >= max_attempts()
    retry_at = None if final else timezone.now() + back_off(attempts)
    forget = {"text": ""} if final and message.kind in NEVER_KEPT_KINDS else {}
    SmsMessage.objects.filter(pk=message.pk, claim=message.claim).update(
        **forget,
        attempts=attempts,
        error=error,
        backend=backend_path()[:120],
        provider=provider,
        status=SmsStatus.FAILED if final else SmsStatus.QUEUED,
        next_attempt_at=retry_at,
        claim="",
    )
    if retry_at is not None:
        # local import: tasks imports this module
        from trafficdesk.notify.tasks import deliver_task

        deliver_task.using(run_after=retry_at).enqueue([message.pk])


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
