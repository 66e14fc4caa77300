"""Moments as the product handles them: always aware, in the configured time zone when the
caller gave a naive one (an API client's "2026-12-01T09:00")."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def moment(value: datetime | None = None) -> datetime:
    """`value` made aware (naive values are read in the configured time zone), or now."""
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        return timezone.make_aware(value)
    return value
