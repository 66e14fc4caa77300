"""Retry keys for booking requests, the same for the page and the API: a request repeated
with the same key (a double click, a retry after a lost answer) gets the first answer
instead of a second booking."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trafficdesk.accounts.access import Actor
from trafficdesk.booking.models import IdempotencyKey
from trafficdesk.core.errors import Refusal

MAX_KEY_LENGTH = 80


class KeyReused(Refusal):
    code = "idempotency.mismatch"
    status = 422

    def __init__(self) -> None:
        super().__init__(_("This Idempotency-Key was used for another request."))


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]


def fingerprint(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def clean_key(raw: str | None) -> str:
    return (raw or "").strip()[:MAX_KEY_LENGTH]


def replay(holder: Actor, key: str, digest: str) -> Answer | None:
    """The first answer given to this key, if any; KeyReused if it was for another request."""
    if not key:
        return None
    stored = IdempotencyKey.objects.filter(holder_id=holder.pk, key=key).first()
    if stored is None:
        return None
    if stored.request_digest != digest:
        raise KeyReused
    return Answer(stored.status_code, stored.response)


def remember(holder: Actor, key: str, digest: str, answer: Answer) -> Answer:
    """Keep the answer for the key; when another request with the key won the race, its
    answer is the one that counts."""
    if not key:
        return answer
    assert holder.pk is not None, "a retry key belongs to a logged-in holder"
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(
                holder_id=int(holder.pk),
                key=key,
                request_digest=digest,
                status_code=answer.status_code,
                response=json.loads(json.dumps(answer.body, default=str)),
            )
    except IntegrityError:
        return replay(holder, key, digest) or answer
    return answer
