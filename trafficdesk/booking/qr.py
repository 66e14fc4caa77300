from __future__ import annotations

import io

import segno
from django.http import HttpRequest
from django.urls import reverse

from trafficdesk.booking.models import Booking


def booking_qr_svg(request: HttpRequest, booking: Booking) -> str:
    """The confirmation's QR code: a link carrying the booking's unguessable token."""
    url = request.build_absolute_uri(reverse("booking:detail", args=[booking.token]))
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return buffer.getvalue().decode()
