"""A booking as an iCalendar file (RFC 5545), to add it to the phone's calendar: one VEVENT
with the booking's time in the configured time zone (a VTIMEZONE for it), the place, the
businesses, the booking number and the check-in time. Written by hand (no library is a
dependency): CRLF line ends, escaped text, lines folded at 75 octets."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from trafficdesk.booking.models import Booking

CRLF = "\r\n"


def escape(text: str) -> str:
    """TEXT value escaping: backslash, semicolon, comma and newlines."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets, never inside a character."""
    pieces: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, 74  # continuation lines start with a space
        current += char
        size += width
    pieces.append(current)
    return (CRLF + " ").join(pieces)


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y%m%dT%H%M%S")


def _utc(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def _timezone_block(tzid: str, around: datetime) -> list[str]:
    """A VTIMEZONE with the zone's offset at the booking (Asia/Shanghai has no DST)."""
    offset = timezone.localtime(around).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    text = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return [
        "BEGIN:VTIMEZONE",
        f"TZID:{tzid}",
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        f"TZOFFSETFROM:{text}",
        f"TZOFFSETTO:{text}",
        "END:STANDARD",
        "END:VTIMEZONE",
    ]


def booking_calendar(
    booking: Booking, *, url: str, businesses: Iterable[str], check_in_from: datetime
) -> str:
    """The .ics text of a booking (in the active language); `url` is the booking's page."""
    slot = booking.slot
    point = slot.service_point
    tzid = str(settings.TIME_ZONE)
    names = pgettext("between items of a list", ", ").join(businesses)
    summary = _("%(businesses)s — booking %(number)s") % {
        "businesses": names,
        "number": booking.spaced_number,
    }
    description = "\n".join(
        [
            _("Booking number: %(number)s") % {"number": booking.spaced_number},
            _("Check-in opens at %(time)s.")
            % {"time": timezone.localtime(check_in_from).strftime("%H:%M")},
            _("Bring the materials listed on the booking page."),
            url,
        ]
    )
    location = ", ".join(part for part in (point.name, point.address) if part)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//TrafficDesk//Booking//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        *_timezone_block(tzid, slot.starts_at),
        "BEGIN:VEVENT",
        f"UID:booking-{booking.number}@trafficdesk",
        f"DTSTAMP:{_utc(timezone.now())}",
        f"DTSTART;TZID={tzid}:{_local(slot.starts_at)}",
        f"DTEND;TZID={tzid}:{_local(slot.ends_at)}",
        f"SUMMARY:{escape(summary)}",
        f"LOCATION:{escape(location)}",
        f"DESCRIPTION:{escape(description)}",
        f"URL:{url}",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-PT1H",
        f"DESCRIPTION:{escape(summary)}",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return CRLF.join(fold(line) for line in lines) + CRLF
