"""Who may hold a booking: N no-shows within a window bar an ID number for M days (the same
rule for first-come booking and for rush applications)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import Booking, BookingEvent, BookingEventKind


def no_show_ban_until(digest: str, now: datetime | None = None) -> datetime | None:
    """N no-shows within the window bar the holder for M days from the last one."""
    moment = now or timezone.now()
    since = moment - timedelta(days=settings.BOOKING_NO_SHOW_WINDOW_DAYS)
    marks = list(
        BookingEvent.objects.filter(
            kind=BookingEventKind.NO_SHOW, booking__id_digest=digest, at__gte=since
        )
        .order_by("-at")
        .values_list("at", flat=True)[: settings.BOOKING_NO_SHOW_LIMIT]
    )
    if len(marks) < settings.BOOKING_NO_SHOW_LIMIT:
        return None
    until = marks[0] + timedelta(days=settings.BOOKING_BAN_DAYS)
    return until if until > moment else None


def not_barred_sql(digest: str, now: datetime) -> tuple[str, list[Any]]:
    """The same rule as `no_show_ban_until`, as an SQL condition "this ID is not barred now",
    for the booking statement (tests/booking/test_holders.py checks that they agree)."""
    since = now - timedelta(days=settings.BOOKING_NO_SHOW_WINDOW_DAYS)
    ban_from = now - timedelta(days=settings.BOOKING_BAN_DAYS)
    event, booking = BookingEvent._meta.db_table, Booking._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    sql = (
        "NOT EXISTS (SELECT 1 FROM (SELECT count(*) AS marks, max(ev.at) AS last"  # noqa: S608 - names and placeholders only; values are bound # nosec B608
        f" FROM {event} ev JOIN {booking} bk ON bk.id = ev.booking_id"
        " WHERE ev.kind = %s AND bk.id_digest = %s AND ev.at >= %s) AS no_shows"
        " WHERE no_shows.marks >= %s AND no_shows.last > %s)"
    )
    params = [
        BookingEventKind.NO_SHOW.value,
        digest,
        adapt(since),
        settings.BOOKING_NO_SHOW_LIMIT,
        adapt(ban_from),
    ]
    return sql, params


def barred_digests(digests: Iterable[str] | QuerySet[Any], now: datetime | None = None) -> set[str]:
    """The ID digests among `digests` that are barred now: a list (one query per 20,000), or
    a query of digests (one query, however many: a draw's million applications)."""
    moment = now or timezone.now()
    if isinstance(digests, QuerySet):
        return _barred(digests, moment)
    wanted = sorted(set(digests))
    barred: set[str] = set()
    for start in range(0, len(wanted), 20_000):
        barred |= _barred(wanted[start : start + 20_000], moment)
    return barred


def _barred(digests: list[str] | QuerySet[Any], moment: datetime) -> set[str]:
    since = moment - timedelta(days=settings.BOOKING_NO_SHOW_WINDOW_DAYS)
    rows = (
        BookingEvent.objects.filter(
            kind=BookingEventKind.NO_SHOW, at__gte=since, booking__id_digest__in=digests
        )
        .values("booking__id_digest")
        .annotate(marks=Count("id"), last=Max("at"))
        .filter(marks__gte=settings.BOOKING_NO_SHOW_LIMIT)
    )
    return {
        row["booking__id_digest"]
        for row in rows
        if row["last"] + timedelta(days=settings.BOOKING_BAN_DAYS) > moment
    }


def refuse_if_barred(digest: str, now: datetime | None = None) -> None:
    until = no_show_ban_until(digest, now)
    if until is not None:
        raise BookingRefused(
            "holder.barred",
            _("Too many missed appointments: booking is possible again from %(date)s.")
            % {"date": timezone.localtime(until).strftime("%Y-%m-%d")},
        )
