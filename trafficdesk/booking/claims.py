"""Priority claims: a booking in a priority class proves it (SPEC R4-R6).

* At booking (`prepare`, then `attach` in the booking's transaction): a vehicle of a fleet the
  holder acts for, whose enterprise is verified and holds a grant of the class on the slot's
  day (GRANTED), within the enterprise's fair share of the day (`take_share`); or a permit
  number with a photo of it, checked by content, for the online centre to review within
  CLAIM_REVIEW_HOURS (PENDING). Past FALSE_CLAIMS_LIMIT downgraded claims in
  FALSE_CLAIMS_WINDOW_DAYS, by ID number or by enterprise, priority claims are refused until
  FALSE_CLAIMS_BAR_DAYS after the last one.
* Later (`review` by the online centre, `settle` by the clerk at check-in or at the window):
  confirmed, or downgraded to the general public with the reason. A downgraded booking keeps
  its place if the slot's general capacity allows it (the ledger decides); an active one is
  otherwise moved to the next slot with general room, or cancelled, with an SMS either way
  (what it held returns after the anti-trading delay, as for any cancellation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.accounts.models import User
from trafficdesk.audit.services import record
from trafficdesk.booking import ledger
from trafficdesk.booking import services as booking_services  # the statuses' one mover
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import (
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingItem,
    EnterpriseDayUse,
    PriorityClaim,
    Slot,
)
from trafficdesk.core import uploads
from trafficdesk.core.actions import Action
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.vocabulary import (
    CLAIM_MOVES,
    DEFAULT_CLASS,
    HOLDING_STATUSES,
    BookingStatus,
    ClaimKind,
    ClaimStatus,
    sources_of,
)
from trafficdesk.enterprises import services as enterprises
from trafficdesk.enterprises.models import Enterprise, Vehicle
from trafficdesk.notify.services import queue_sms, sms_text

# What the holder of a priority booking is told when the claim is not proven (in Chinese).
KEPT_AS_GENERAL_SMS = gettext_lazy(
    "Your priority could not be verified; you are served as general public, at the same time."
)
MOVED_AS_GENERAL_SMS = gettext_lazy(
    "Your priority could not be verified and the general places of your time are full; your "
    "booking is moved to %(when)s."
)
CANCELLED_NOT_PROVEN_SMS = gettext_lazy(
    "Your priority could not be verified and there is no general place soon; your booking is "
    "cancelled, please book again."
)


@dataclass(frozen=True)
class ClaimIn:
    """What the applicant gives to prove a priority class: a vehicle of their fleet, or a
    permit number and a photo (or PDF) of it."""

    vehicle_id: int | None = None
    permit_number: str = ""
    evidence: bytes = b""


@dataclass(frozen=True)
class Prepared:
    applicant_class: str
    day: date
    """The slot's day (the enterprise's share is counted per day)."""
    kind: ClaimKind
    vehicle: Vehicle | None = None
    permit_number: str = ""
    evidence: bytes = b""
    evidence_type: str = ""

    @property
    def enterprise(self) -> Enterprise | None:
        return self.vehicle.enterprise if self.vehicle is not None else None


def prepare(
    holder: User, applicant_class: str, given: ClaimIn | None, digest: str, starts_at: datetime
) -> Prepared | None:
    """The checked claim of a booking in `applicant_class` of a slot starting at `starts_at`,
    or None for the general public (nothing else is done for it); BookingRefused saying
    what is missing and how to prove it."""
    if applicant_class == DEFAULT_CLASS:
        return None
    now = timezone.now()
    day = timezone.localdate(starts_at)
    refuse_if_barred(id_digest=digest, now=now)
    if given is None or (given.vehicle_id is None and not given.permit_number.strip()):
        raise BookingRefused(
            "claim.required",
            _(
                "A priority booking needs proof: choose a vehicle of your enterprise's fleet, "
                "or give the permit or certificate number and a photo of it."
            ),
            field="permit_number",
        )
    if given.vehicle_id is not None:
        return _fleet_claim(holder, applicant_class, given.vehicle_id, day, now)
    permit = " ".join(given.permit_number.split())
    if len(permit) > 40:
        raise BookingRefused(
            "claim.permit",
            _("The permit number is longer than 40 characters."),
            field="permit_number",
        )
    try:
        kind = uploads.accepted_type(given.evidence)
    except uploads.UploadRefused as refused:
        raise BookingRefused("claim.evidence", str(refused), field="evidence") from None
    return Prepared(applicant_class, day, ClaimKind.EVIDENCE, None, permit, given.evidence, kind)


def _fleet_claim(
    holder: User, applicant_class: str, vehicle_id: int, day: date, now: datetime
) -> Prepared:
    vehicle = enterprises.fleet_vehicle(holder, vehicle_id)
    if vehicle is None:
        raise BookingRefused(
            "claim.vehicle",
            _("This vehicle is not in the fleet of an enterprise you act for."),
            field="vehicle",
        )
    enterprise = vehicle.enterprise
    if not enterprises.holds(enterprise, applicant_class, day):
        raise BookingRefused(
            "claim.not_granted",
            _(
                "%(enterprise)s holds no grant of this priority class for that day. Its "
                "manager can ask the regional administrator for one, with the reason; until "
                "then, book as general public or prove the class with a permit."
            )
            % {"enterprise": enterprise.name},
            field="vehicle",
        )
    refuse_if_barred(enterprise_id=enterprise.pk, now=now)
    return Prepared(applicant_class, day, ClaimKind.FLEET, vehicle)


def take_share(prepared: Prepared | None) -> None:
    """Inside the booking's transaction: one more priority booking of the enterprise for
    the slot's day, unless it already holds its share (PRIORITY_BOOKINGS_PER_ENTERPRISE_DAY). One
    conditional UPDATE after making sure the row exists."""
    if prepared is None or prepared.enterprise is None:
        return
    enterprise, day = prepared.enterprise, prepared.day
    cap = settings.PRIORITY_BOOKINGS_PER_ENTERPRISE_DAY
    EnterpriseDayUse.objects.get_or_create(enterprise=enterprise, day=day)
    changed = EnterpriseDayUse.objects.filter(enterprise=enterprise, day=day, used__lt=cap).update(
        used=F("used") + 1
    )
    if changed != 1:
        raise BookingRefused(
            "claim.share",
            _(
                "%(enterprise)s already holds %(cap)d priority bookings for that day, its "
                "share of the places held for priority classes; choose another day."
            )
            % {"enterprise": enterprise.name, "cap": cap},
        )


def give_share_back(booking_id: int) -> None:
    """Inside the transaction that cancels or downgrades a fleet booking: its place in the
    enterprise's share of the day returns (a general booking has nothing to give back)."""
    row = (
        PriorityClaim.objects.filter(booking_id=booking_id, enterprise__isnull=False)
        .exclude(status=ClaimStatus.DOWNGRADED)
        .values_list("enterprise_id", "booking__slot__starts_at")
        .first()
    )
    if row is None:
        return
    enterprise_id, starts_at = row
    EnterpriseDayUse.objects.filter(
        enterprise_id=enterprise_id, day=timezone.localdate(starts_at), used__gt=0
    ).update(used=F("used") - 1)


def attach(booking: Booking, prepared: Prepared | None, digest: str) -> PriorityClaim | None:
    """Inside the booking's transaction: the booking's claim."""
    if prepared is None:
        return None
    evidence = prepared.kind == ClaimKind.EVIDENCE
    claim = PriorityClaim(
        booking=booking,
        applicant_class=prepared.applicant_class,
        kind=prepared.kind,
        vehicle=prepared.vehicle,
        enterprise=prepared.enterprise,
        permit_number=prepared.permit_number,
        evidence_type=prepared.evidence_type,
        id_digest=digest,
        status=ClaimStatus.PENDING if evidence else ClaimStatus.GRANTED,
        review_due_at=(
            timezone.now() + timedelta(hours=settings.CLAIM_REVIEW_HOURS) if evidence else None
        ),
    )
    if evidence:
        extension = prepared.evidence_type.rsplit("/", 1)[1]
        claim.evidence.save(
            f"{booking.token[:16]}.{extension}", ContentFile(prepared.evidence), save=False
        )
    claim.save()
    return claim


# --- false claims ------------------------------------------------------------------------------


def barred_until(
    *, id_digest: str | None = None, enterprise_id: int | None = None, now: datetime
) -> datetime | None:
    """When priority claims are allowed again for this ID number or enterprise, or None."""
    since = now - timedelta(days=settings.FALSE_CLAIMS_WINDOW_DAYS)
    false = PriorityClaim.objects.filter(status=ClaimStatus.DOWNGRADED, decided_at__gte=since)
    if id_digest is not None:
        false = false.filter(id_digest=id_digest)
    if enterprise_id is not None:
        false = false.filter(enterprise_id=enterprise_id)
    moments = [m for m in false.order_by("-decided_at").values_list("decided_at", flat=True) if m]
    if len(moments) < settings.FALSE_CLAIMS_LIMIT:
        return None
    until = moments[0] + timedelta(days=settings.FALSE_CLAIMS_BAR_DAYS)
    return until if until > now else None


def refuse_if_barred(
    *, id_digest: str | None = None, enterprise_id: int | None = None, now: datetime
) -> None:
    until = barred_until(id_digest=id_digest, enterprise_id=enterprise_id, now=now)
    if until is None:
        return
    raise BookingRefused(
        "claim.barred",
        _(
            "Priority claims are refused until %(until)s after claims that could not be "
            "proven; book as general public until then."
        )
        % {"until": timezone.localtime(until).strftime("%Y-%m-%d")},
    )


# --- review and settlement -----------------------------------------------------------------------


def review_queue(actor: Actor) -> QuerySet[PriorityClaim]:
    """Evidence waiting for the online centre, the most urgent first (its SLA)."""
    access.check(actor, Action.CLAIM_REVIEW)
    return access.scope(
        actor,
        PriorityClaim.objects.select_related("booking__slot__service_point").filter(
            status=ClaimStatus.PENDING
        ),
        Action.CLAIM_REVIEW,
    ).order_by("review_due_at", "pk")


def review(actor: Actor, claim: PriorityClaim, *, accept: bool, reason: str = "") -> PriorityClaim:
    """The online centre accepts the evidence, or downgrades the booking with the reason."""
    access.check(actor, Action.CLAIM_REVIEW, claim)
    if accept:
        return _move(actor, claim, ClaimStatus.ACCEPTED, reason, "claim.accept")
    return downgrade(actor, claim, reason)


def confirm(actor: Actor, claim: PriorityClaim, reason: str = "") -> PriorityClaim:
    """The clerk has seen the proof (at check-in or at the window)."""
    access.check(actor, Action.CLAIM_VERIFY, claim)
    return _move(actor, claim, ClaimStatus.CONFIRMED, reason, "claim.confirm")


def _move(
    actor: Actor, claim: PriorityClaim, target: ClaimStatus, reason: str, action: str
) -> PriorityClaim:
    with locking_transaction():
        _claim_status(actor, claim, target, reason)
        record(actor, action, target=claim, summary=reason[:200])
    claim.refresh_from_db()
    return claim


def _claim_status(actor: Actor, claim: PriorityClaim, target: ClaimStatus, reason: str) -> None:
    changed = PriorityClaim.objects.filter(
        pk=claim.pk, status__in=sources_of(CLAIM_MOVES, target)
    ).update(
        status=target,
        decided_at=timezone.now(),
        decided_by=access.as_user(actor),
        reason=reason.strip()[:300],
    )
    if changed != 1:
        current = PriorityClaim.objects.get(pk=claim.pk)
        raise BookingRefused(
            "claim.settled",
            _("This claim is already %(status)s.") % {"status": current.get_status_display()},
        )


def downgrade(actor: Actor, claim: PriorityClaim, reason: str) -> PriorityClaim:
    """Serve the booking as general public: the claim is DOWNGRADED with the reason, the
    booking's class becomes GENERAL; it keeps its slot if general capacity allows it, else an
    active booking is moved to the next slot with general room, or cancelled. The holder is
    told by SMS."""
    if not reason.strip():
        raise BookingRefused("claim.reason", _("Say why the claim could not be proven."))
    now = timezone.now()
    with locking_transaction():
        booking = (
            Booking.objects.select_for_update()
            .select_related("slot", "holder")
            .get(pk=claim.booking_id)
        )
        holding = BookingStatus(booking.status) in HOLDING_STATUSES
        if holding:
            give_share_back(booking.pk)  # while the claim still counts in the share
        _claim_status(actor, claim, ClaimStatus.DOWNGRADED, reason)
        if not holding:  # cancelled or over: nothing is held, nobody to move or tell
            Booking.objects.filter(pk=booking.pk).update(applicant_class=DEFAULT_CLASS)
            record(actor, "claim.downgrade", target=claim, summary=reason[:200])
            claim.refresh_from_db()
            return claim
        text, detail = _serve_as_general(booking, now)
        notice = None
        if booking.holder.mobile:
            notice = queue_sms(
                booking.holder.mobile,
                text,
                kind="claim.downgraded",
                region_id=booking.slot.service_point.region_id,
            )
        BookingEvent.objects.create(
            booking=booking, kind=BookingEventKind.DOWNGRADED, detail=detail[:300], notice=notice
        )
        record(actor, "claim.downgrade", target=claim, summary=reason[:200])
    claim.refresh_from_db()
    return claim


def _serve_as_general(booking: Booking, now: datetime) -> tuple[str, str]:
    """The booking's capacity as general; the SMS text and the event's detail."""
    held = ledger.held(booking.slot_id, booking.minutes, booking.general_minutes)
    general = {"applicant_class": DEFAULT_CLASS, "general_minutes": booking.minutes}
    kept = ledger.become_general(held, now) is not None
    if kept or booking.status != BookingStatus.ACTIVE:
        # kept: there was general room, or the holder is already in the hall (what it holds
        # stays counted as it was taken, so that it is given back exactly)
        Booking.objects.filter(pk=booking.pk).update(
            **(general if kept else {"applicant_class": DEFAULT_CLASS})
        )
        return (
            sms_text(KEPT_AS_GENERAL_SMS),
            "kept its slot as general public",
        )
    later = ledger.offerable(
        Slot.objects.filter(
            service_point_id=booking.slot.service_point_id,
            category_id=booking.slot.category_id,
            starts_at__gt=max(now, booking.slot.starts_at),
        ),
        ledger.Claim(booking.minutes, priority=False),
        now,
    ).order_by("starts_at")
    for slot in later[:5]:
        taken = ledger.take(slot.pk, ledger.Claim(booking.minutes, priority=False), now)
        if taken is None:
            continue
        booking_services.release_later(held, now)
        Booking.objects.filter(pk=booking.pk).update(slot=slot, moves=F("moves") + 1, **general)
        when = timezone.localtime(slot.starts_at).strftime("%m月%d日 %H:%M")
        return (
            sms_text(MOVED_AS_GENERAL_SMS, when=when),
            f"moved to slot {slot.pk} as general public",
        )
    booking_services.move_status(
        booking.pk, BookingStatus.CANCELLED, cancel_reason=_("priority claim not proven")
    )
    booking_services.release_later(held, now)
    BookingItem.objects.filter(booking=booking).update(active=False)
    return (
        sms_text(CANCELLED_NOT_PROVEN_SMS),
        "cancelled: no general place",
    )
