"""Pluggable SMS backends. Set SMS_BACKEND to console, memory, aliyun or tencent
(notify.gateways), or to a dotted path of a class with send(phone, text, kind=...), which
returns the provider's message id (or None) or raises (notify.gateways.GatewayError: a
transient or permanent failure; anything else counts as transient)."""

from __future__ import annotations

import sys
from typing import Protocol

from trafficdesk.core.validators import mask_mobile


class SmsBackend(Protocol):
    def send(self, phone: str, text: str, *, kind: str = "") -> str | None: ...


class ConsoleSmsBackend:
    """Prints each message to standard output (the development and demo default)."""

    def send(self, phone: str, text: str, *, kind: str = "") -> str | None:
        sys.stdout.write(f"[SMS → {mask_mobile(phone)}] {text}\n")
        sys.stdout.flush()
        return None


sent_messages: list[tuple[str, str]] = []


class MemorySmsBackend:
    """Keeps messages in this process, like Django's locmem mail backend; for tests."""

    def send(self, phone: str, text: str, *, kind: str = "") -> str | None:
        sent_messages.append((phone, text))
        return None
