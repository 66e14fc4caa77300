"""Who may hold a booking: N no-shows within a window bar an ID number for M days (the same
rule for first-come booking and for rush applications)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.accounts import realname
from trafficdesk.accounts.models import User
from trafficdesk.booking.errors import Alternative, BookingRefused
from trafficdesk.booking.models import (
    Booking,
    BookingEvent,
    BookingEventKind,
    PriorityClaim,
    Slot,
)
from trafficdesk.core.vocabulary import HOLDING_STATUSES


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


# --- real-name caps (accounts.realname decides whose ID an account may use) -------------------


def _active_sql(where: str) -> str:
    """Active bookings (holding, slot not over) that are not fleet bookings of an enterprise
    agent (those are capped by the enterprise's share of the day, booking.claims)."""
    booking, slot = Booking._meta.db_table, Slot._meta.db_table
    claim = PriorityClaim._meta.db_table
    return (
        f"(SELECT count(*) FROM {booking} cb JOIN {slot} cs ON cs.id = cb.slot_id"  # noqa: S608 - names and placeholders only; values are bound # nosec B608
        f" WHERE {where} AND cb.status IN (%s, %s) AND cs.ends_at > %s AND NOT EXISTS"
        f" (SELECT 1 FROM {claim} cc WHERE cc.booking_id = cb.id AND cc.enterprise_id IS NOT NULL))"
    )


def within_caps_sql(holder_id: int, digest: str, now: datetime) -> tuple[str, list[Any]]:
    """ "The account holds fewer than BOOKING_MAX_ACTIVE_PER_ACCOUNT active bookings and the ID
    number fewer than BOOKING_MAX_ACTIVE_PER_ID", as an SQL condition for the booking
    statement: counted in the statement that takes the place, so exact under concurrency
    (with `lock_holder` on PostgreSQL; SQLite's transactions are serialised)."""
    at = connection.ops.adapt_datetimefield_value(now)
    statuses = [s.value for s in HOLDING_STATUSES]
    sql = f"{_active_sql('cb.holder_id = %s')} < %s AND {_active_sql('cb.id_digest = %s')} < %s"
    params = [
        holder_id,
        *statuses,
        at,
        settings.BOOKING_MAX_ACTIVE_PER_ACCOUNT,
        digest,
        *statuses,
        at,
        settings.BOOKING_MAX_ACTIVE_PER_ID,
    ]
    return sql, params


def lock_holder(holder_id: int, digest: str) -> None:
    """PostgreSQL, inside the booking's transaction and before its statement: serialise the
    bookings of one account and of one ID number (transaction-scoped advisory locks, always
    account then ID, so two bookings never wait for each other in a circle), so that each
    counts the others' committed bookings. The transaction's lock_timeout applies: Busy."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0)),"
            " pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"booking-account:{holder_id}", f"booking-id:{digest}"],
        )


def active_bookings(now: datetime | None = None) -> QuerySet[Booking]:
    """The bookings the caps count (the same as `_active_sql`): holding, slot not over, not
    an enterprise agent's fleet booking."""
    return Booking.objects.filter(
        status__in=HOLDING_STATUSES, slot__ends_at__gt=now or timezone.now()
    ).exclude(claim__enterprise__isnull=False)


def _active(**where: Any) -> int:
    return active_bookings().filter(**where).count()


def capped_applications(requests: QuerySet[Any], now: datetime) -> set[int]:
    """The applications of a draw (RushRequest rows) that would take their account or their
    ID number past its cap of active bookings if they won: an ID already at its cap; and of
    an account's applications, those past the room it has left (the later ones first).
    Fleet applications (a vehicle of an enterprise) are capped by the enterprise's share
    instead. A few aggregate queries, however many applications."""
    own = requests.filter(vehicle__isnull=True)
    per_id_cap = settings.BOOKING_MAX_ACTIVE_PER_ID
    full_ids = (
        active_bookings(now)
        .filter(id_digest__in=own.values("id_digest"))
        .values("id_digest")
        .annotate(n=Count("id"))
        .filter(n__gte=per_id_cap)
        .values("id_digest")
    )
    capped = set(own.filter(id_digest__in=full_ids).values_list("id", flat=True))
    held = dict(
        active_bookings(now)
        .filter(holder_id__in=own.values("holder_id"))
        .values_list("holder_id")
        .annotate(n=Count("id"))
    )
    several = dict(own.values_list("holder_id").annotate(n=Count("id")).filter(n__gt=1).order_by())
    room = settings.BOOKING_MAX_ACTIVE_PER_ACCOUNT
    candidates = {h for h in set(held) | set(several) if held.get(h, 0) + several.get(h, 1) > room}
    kept: dict[int, int] = {}
    for pk, holder_id in (
        own.filter(holder_id__in=candidates)
        .exclude(pk__in=capped)
        .order_by("pk")
        .values_list("pk", "holder_id")
    ):
        if held.get(holder_id, 0) + kept.get(holder_id, 0) >= room:
            capped.add(pk)
        else:
            kept[holder_id] = kept.get(holder_id, 0) + 1
    return capped


def refuse_if_over_caps(holder_id: int, digest: str) -> None:
    """Why the booking statement took nothing, when it is a cap (the same rule as
    `within_caps_sql`), with the way forward."""
    cap = settings.BOOKING_MAX_ACTIVE_PER_ACCOUNT
    if _active(holder_id=holder_id) >= cap:
        raise BookingRefused(
            "holder.account_cap",
            _(
                "This account already holds %(cap)d active bookings, the most one account may "
                "hold. Cancel one you no longer need, or book after one of them is over."
            )
            % {"cap": cap},
        )
    cap = settings.BOOKING_MAX_ACTIVE_PER_ID
    if _active(id_digest=digest) >= cap:
        raise BookingRefused(
            "holder.id_cap",
            _(
                "This ID number already has %(cap)d active bookings, the most one person may "
                "hold. Cancel one that is no longer needed, or book after one of them is over."
            )
            % {"cap": cap},
            field="id_number",
        )


def person_for(
    holder: User, id_number: str, family_member: int | None = None, *, agent: bool = False
) -> realname.Person:
    """Whom a booking or a draw application is for, if the holder may book for them (the
    real-name rule, accounts.realname); its refusal as a booking refusal, with the way to
    the real-name page."""
    try:
        return realname.check_may_book_for(
            holder, id_number, family_member=family_member, agent=agent
        )
    except realname.RealNameRefused as refused:
        refusal = BookingRefused(
            refused.code,
            refused.message,
            field=refused.field,
            alternatives=[
                Alternative(
                    "realname", _("Your real-name details"), url=reverse("accounts:realname")
                )
            ],
        )
        if refused.status == 503:  # the identity check is not answering: try again later
            refusal.status = 503
        raise refusal from None
