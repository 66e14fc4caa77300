"""The product's vocabularies, each defined once: applicant classes, risk levels, window kinds,
service-point kinds, and the booking and ticket statuses with the moves between them.

Every model field, API schema, form and rule takes its values from here; a new applicant
class is added here (and in the policy document, which says how it is served). Labels are
English message ids translated in the .po file; `name_in(member, "zh-hans")` gives the
Chinese name for texts that are written in both languages (the policy's reasons).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class ApplicantClass(models.TextChoices):
    """Who the applicant is, highest priority first (SPEC: domain words)."""

    EMERGENCY = "EMERGENCY", _("emergency (ambulance, epidemic prevention)")
    ESSENTIAL = "ESSENTIAL", _("key supplies transport")
    GREEN = "GREEN", _("fresh produce and daily necessities")
    RESUMPTION = "RESUMPTION", _("work resumption and freight")
    GENERAL = "GENERAL", _("general public")


#: Highest priority first; the rank of a class is its index here.
CLASS_ORDER: tuple[ApplicantClass, ...] = tuple(ApplicantClass)
CLASS_RANK: Mapping[str, int] = {member.value: rank for rank, member in enumerate(CLASS_ORDER)}
DEFAULT_CLASS = ApplicantClass.GENERAL


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("province")
    CITY = "city", _("city")
    COUNTY = "county", _("county")


class RiskLevel(models.TextChoices):
    LOW = "LOW", _("low risk")
    MEDIUM = "MEDIUM", _("medium risk")
    HIGH = "HIGH", _("high risk")


RISK_ORDER: Mapping[str, int] = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


class WindowKind(models.TextChoices):
    NORMAL = "normal", _("normal window")
    EMERGENCY = "emergency", _("emergency window")
    GREEN = "green", _("green channel")


class ServicePointKind(models.TextChoices):
    HALL = "hall", _("vehicle administration hall")
    BRANCH = "branch", _("branch office")
    EXAM_CENTRE = "exam_centre", _("exam centre")
    QUICK_CLAIM = "quick_claim", _("accident quick-claim centre")
    SERVICE_STATION = "service_station", _("social service station")


class BookingStatus(models.TextChoices):
    ACTIVE = "active", _("booked")
    CHECKED_IN = "checked_in", _("checked in")
    DONE = "done", _("served")
    CANCELLED = "cancelled", _("cancelled")
    NO_SHOW = "no_show", _("did not come")
    EXPIRED = "expired", _("time passed")


#: The moves a booking may make; every status change is a conditional UPDATE from one of
#: the statuses that lead to the target (booking.services.move_status). A booking that
#: leaves the holding statuses no longer counts as "the" booking of its ID and business.
BOOKING_MOVES: Mapping[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.ACTIVE: frozenset(
        {
            BookingStatus.CHECKED_IN,
            BookingStatus.CANCELLED,
            BookingStatus.NO_SHOW,
            BookingStatus.EXPIRED,
        }
    ),
    # back to booked: its ticket was ended by a policy change and it is moved or cancelled
    # like a booking of a closed point (hallqueue.services.end_stranded_tickets)
    BookingStatus.CHECKED_IN: frozenset(
        {BookingStatus.DONE, BookingStatus.NO_SHOW, BookingStatus.EXPIRED, BookingStatus.ACTIVE}
    ),
    BookingStatus.DONE: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
    BookingStatus.EXPIRED: frozenset(),
}
#: Bookings that hold capacity and count as "one active booking per ID and business".
HOLDING_STATUSES: tuple[BookingStatus, ...] = (BookingStatus.ACTIVE, BookingStatus.CHECKED_IN)


class TicketStatus(models.TextChoices):
    OUTSIDE = "outside", _("waiting outside (zone full)")
    WAITING = "waiting", _("waiting")
    CALLED = "called", _("called")
    DONE = "done", _("served")
    SKIPPED = "skipped", _("did not answer")
    ENDED_BY_POLICY = "ended", _("ended: the business closed after an epidemic-control change")


TICKET_MOVES: Mapping[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OUTSIDE: frozenset({TicketStatus.WAITING, TicketStatus.ENDED_BY_POLICY}),
    TicketStatus.WAITING: frozenset({TicketStatus.CALLED, TicketStatus.ENDED_BY_POLICY}),
    TicketStatus.CALLED: frozenset({TicketStatus.WAITING, TicketStatus.DONE, TicketStatus.SKIPPED}),
    TicketStatus.DONE: frozenset(),
    TicketStatus.SKIPPED: frozenset(),
    TicketStatus.ENDED_BY_POLICY: frozenset(),
}
#: Tickets whose holder is inside the zone (counted in Zone.present).
IN_ZONE: tuple[TicketStatus, ...] = (TicketStatus.WAITING, TicketStatus.CALLED)


S = TypeVar("S", bound=str)


def sources_of(moves: Mapping[S, Iterable[S]], target: S) -> list[S]:
    """The statuses from which `target` may be reached (for conditional UPDATEs)."""
    return sorted(source for source, targets in moves.items() if target in targets)


def name_in(member: models.TextChoices, language: str) -> str:
    """The member's label in `language` (for texts kept in both languages)."""
    with translation.override(language):
        return str(member.label)


def parse_class(value: object, default: ApplicantClass | None = DEFAULT_CLASS) -> ApplicantClass:
    """A known applicant class, else `default`; ValueError when there is no default."""
    try:
        return ApplicantClass(str(value))
    except ValueError:
        if default is None:
            raise
        return default


class EnterpriseStatus(models.TextChoices):
    PENDING = "pending", _("awaiting verification")
    VERIFIED = "verified", _("verified")
    REJECTED = "rejected", _("not verified")


class AgentStatus(models.TextChoices):
    PENDING = "pending", _("awaiting the enterprise's approval")
    APPROVED = "approved", _("agent of the enterprise")
    REMOVED = "removed", _("no longer an agent")


class VehicleUse(models.TextChoices):
    FREIGHT = "freight", _("freight")
    PASSENGER = "passenger", _("passenger transport")
    SPECIAL = "special", _("special purpose (ambulance, epidemic prevention)")
    OTHER = "other", _("other")


class ClaimKind(models.TextChoices):
    FLEET = "fleet", _("a vehicle of an enterprise holding the class")
    EVIDENCE = "evidence", _("a permit or certificate")


class ClaimStatus(models.TextChoices):
    """A priority claim: granted by the enterprise's grant or pending online review, then
    confirmed or downgraded (online, or by the clerk at check-in or at the window)."""

    GRANTED = "granted", _("covered by the enterprise's grant")
    PENDING = "pending", _("evidence awaiting review")
    ACCEPTED = "accepted", _("evidence accepted")
    CONFIRMED = "confirmed", _("confirmed at the window")
    DOWNGRADED = "downgraded", _("not proven: served as general public")


CLAIM_MOVES: Mapping[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.GRANTED: frozenset({ClaimStatus.CONFIRMED, ClaimStatus.DOWNGRADED}),
    ClaimStatus.PENDING: frozenset(
        {ClaimStatus.ACCEPTED, ClaimStatus.CONFIRMED, ClaimStatus.DOWNGRADED}
    ),
    ClaimStatus.ACCEPTED: frozenset({ClaimStatus.CONFIRMED, ClaimStatus.DOWNGRADED}),
    ClaimStatus.CONFIRMED: frozenset(),
    ClaimStatus.DOWNGRADED: frozenset(),
}


class OfferStatus(models.TextChoices):
    """A place freed after a draw, offered to the next applicant on its waiting list."""

    PENDING = "pending", _("offered, awaiting an answer")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")
    EXPIRED = "expired", _("not answered in time")


OFFER_MOVES: Mapping[OfferStatus, frozenset[OfferStatus]] = {
    OfferStatus.PENDING: frozenset(
        {OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED}
    ),
    OfferStatus.ACCEPTED: frozenset(),
    OfferStatus.DECLINED: frozenset(),
    OfferStatus.EXPIRED: frozenset(),
}
