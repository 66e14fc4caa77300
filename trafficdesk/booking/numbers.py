"""The booking number (预约号): eight characters a citizen can read aloud, type at the kiosk
and tell a clerk. Digits and capital letters without the look-alikes 0/O, 1/I/L; random, so
that a number says nothing about other bookings, and unique (the column's constraint; a
clash, about one in 10⁶ bookings at a million current ones, is retried with a new number)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db import IntegrityError

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
_SHAPE = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")
_SEPARATORS = re.compile(r"[\s\-_.·]+")


def new_number() -> str:
    """A fresh random booking number (the model field's default)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(text: str) -> str | None:
    """The booking number typed as "7kq4 m2xp" or "7KQ4-M2XP"; None if it cannot be one."""
    candidate = _SEPARATORS.sub("", text or "").upper()
    return candidate if _SHAPE.match(candidate) else None


def spaced(number: str) -> str:
    """Shown in two groups of four, as it is read aloud: "7KQ4 M2XP"."""
    half = LENGTH // 2
    return f"{number[:half]} {number[half:]}" if len(number) == LENGTH else number


def is_clash(exc: IntegrityError) -> bool:
    """Whether an insert failed on the booking number's unique constraint (not on the one
    active booking per ID number and business)."""
    constraint = getattr(
        getattr(getattr(exc, "__cause__", None), "diag", None), "constraint_name", ""
    )
    text = f"{constraint} {exc}".lower()
    return "booking_booking_number" in text or "booking_booking.number" in text


def unused(bookings: list[Any], chunk: int = 2000) -> list[Any]:
    """Bookings about to be written many at a time (a draw's winners), each given a number
    that no other of them and no stored booking has; returns the same list."""
    # local import: the models use this module for the number's default
    from trafficdesk.booking.models import Booking

    given: set[str] = set()  # numbers of earlier bookings of the list, and stored ones met
    for first in range(0, len(bookings), chunk):
        pending = bookings[first : first + chunk]
        while pending:
            for booking in pending:
                while booking.number in given:
                    booking.number = new_number()
                given.add(booking.number)
            stored = set(
                Booking.objects.filter(number__in=[b.number for b in pending]).values_list(
                    "number", flat=True
                )
            )
            pending = [b for b in pending if b.number in stored]  # drawn again, checked again
    return bookings
