"""The SMS reminder the day before a visit. A booking is reminded at REMINDER_HOUR (local
time) the day before its slot, once: the claim is a conditional UPDATE of `reminded_at`, so
a task that runs twice, or two workers at once, send one reminder. A cancelled, moved-away
or finished booking is not reminded; one made after the reminder time is not either (its
confirmation SMS is fresh). The worker runs `send_reminders` (booking.tasks)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from trafficdesk.booking.models import Booking, BookingEvent, BookingEventKind
from trafficdesk.booking.rules import check_in_opens
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.vocabulary import BookingStatus
from trafficdesk.notify.services import queue_sms

#: The hour of the day before a visit at which its reminder is sent (local time).
REMINDER_HOUR = 18
_CHUNK = 500


def reminder_moment(day: date) -> datetime:
    """When the bookings of `day` are reminded: REMINDER_HOUR on the day before."""
    tz = timezone.get_current_timezone()
    return datetime.combine(day - timedelta(days=1), time(REMINDER_HOUR), tzinfo=tz)


def day_of(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _due(day: date, now: datetime) -> list[int]:
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return list(
        Booking.objects.filter(
            status=BookingStatus.ACTIVE,
            reminded_at__isnull=True,
            slot__starts_at__gte=max(start, now),
            slot__starts_at__lt=start + timedelta(days=1),
            created_at__lt=reminder_moment(day),
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def send_reminders(day: date, now: datetime | None = None) -> int:
    """Remind every booking of `day` not yet reminded; the number of reminders sent. Nothing
    before the reminder moment. Each chunk is one transaction: its claims and its notices."""
    moment = now or timezone.now()
    if moment < reminder_moment(day):
        return 0
    due = _due(day, moment)
    sent = 0
    for first in range(0, len(due), _CHUNK):
        with locking_transaction():
            sent += sum(_remind(booking_id, moment) for booking_id in due[first : first + _CHUNK])
    return sent


def _remind(booking_id: int, now: datetime) -> bool:
    """Claim this booking's reminder and write it to the outbox, once."""
    claimed = Booking.objects.filter(
        pk=booking_id, status=BookingStatus.ACTIVE, reminded_at__isnull=True
    ).update(reminded_at=now)
    if claimed != 1:
        return False
    booking = (
        Booking.objects.select_related("slot__service_point", "holder")
        .prefetch_related("items__business")
        .get(pk=booking_id)
    )
    mobile = booking.holder.mobile
    region_id = booking.slot.service_point.region_id
    notice = (
        queue_sms(mobile, reminder_text(booking), kind="booking.reminder", region_id=region_id)
        if mobile
        else None
    )
    BookingEvent.objects.create(booking=booking, kind=BookingEventKind.REMINDED, notice=notice)
    return True


def reminder_text(booking: Booking) -> str:
    """The reminder, in the site's language (the worker has no page language)."""
    slot = booking.slot
    with translation.override(settings.LANGUAGE_CODE):
        separator = pgettext("between items of a list", ", ")
        return _(
            "[Traffic police] Reminder: tomorrow %(when)s, %(businesses)s at %(place)s. "
            "Booking number %(number)s; check-in opens at %(checkin)s. Bring the materials "
            "listed on the booking page."
        ) % {
            "when": timezone.localtime(slot.starts_at).strftime("%H:%M"),
            "businesses": separator.join(i.business.name for i in booking.items.all()),
            "place": slot.service_point.name,
            "number": booking.spaced_number,
            "checkin": timezone.localtime(
                check_in_opens(slot.starts_at, settings.HALL_EARLY_MINUTES)
            ).strftime("%H:%M"),
        }
