"""Pluggable SMS backends. Set SMS_BACKEND to a dotted path of a class with send(phone, text)."""

from __future__ import annotations

import sys
from typing import Protocol

from trafficdesk.core.validators import mask_mobile


class SmsBackend(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class ConsoleSmsBackend:
    """Prints each message to standard output (the development and demo default)."""

    def send(self, phone: str, text: str) -> None:
        sys.stdout.write(f"[SMS → {mask_mobile(phone)}] {text}\n")
        sys.stdout.flush()


sent_messages: list[tuple[str, str]] = []


class MemorySmsBackend:
    """Keeps messages in this process, like Django's locmem mail backend; for tests."""

    def send(self, phone: str, text: str) -> None:
        sent_messages.append((phone, text))
