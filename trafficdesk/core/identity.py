"""Keyed hashes of personal identifiers: enough to recognise the same person again (one
booking per ID number, rate limits per phone), useless to anyone without the server's key."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def keyed_digest(value: str) -> str:
    """HMAC-SHA256 of `value` under SECRET_KEY, as hex."""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def id_digest(id_number: str) -> str:
    """The digest of a (validated, normalised) resident ID number."""
    return keyed_digest(f"id:{id_number}")
