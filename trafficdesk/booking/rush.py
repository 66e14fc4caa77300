"""Rush mode for contested releases (e.g. exam slots): clicking speed must not matter.

Requests are collected while the application window is open. When it closes, places are
allocated by a published rule: priority class first, then the earlier application date, then
a seeded random draw. The seed's hash is published when the window opens and the seed itself
at allocation, so anyone can re-run the draw (`verify`) and get the same result.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import record
from trafficdesk.booking import holders, ledger
from trafficdesk.booking import tasks as booking_tasks  # the worker's entry points
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import (
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingItem,
    RushRequest,
    RushStatus,
    RushWindow,
    Slot,
)
from trafficdesk.booking.rules import (
    RULE,
    Applicant,
    Place,
    allocate,
    result_digest,
    seed_hash,
)
from trafficdesk.catalog.models import Business
from trafficdesk.core.actions import Action
from trafficdesk.core.identity import id_digest
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.validators import InvalidValue, mask_resident_id, parse_resident_id
from trafficdesk.core.vocabulary import CLASS_RANK, DEFAULT_CLASS
from trafficdesk.notify.services import queue_sms_many
from trafficdesk.policy import services as policy
from trafficdesk.policy.rules import is_priority
from trafficdesk.sites.models import ServicePoint

# --- with the database -------------------------------------------------------------------------


def slots_for(
    point: ServicePoint,
    business: Business,
    *,
    ids: Sequence[int] = (),
    first_day: date | None = None,
    last_day: date | None = None,
) -> list[Slot]:
    """The slots a rush is opened over: the ones named, or by rule every future first-come
    slot of the point and business group from `first_day` to `last_day` (e.g. all exam slots
    of next week)."""
    slots = Slot.objects.filter(service_point=point, category_id=business.category_id)
    if ids:
        found = list(Slot.objects.filter(pk__in=ids))
        if len(found) != len(set(ids)):
            raise BookingRefused("rush.slots", _("Some of these slots do not exist."))
        return found
    if first_day is None or last_day is None:
        return []
    return list(
        slots.filter(
            rush__isnull=True,
            starts_at__gt=timezone.now(),
            starts_at__date__gte=first_day,
            starts_at__date__lte=last_day,
        ).order_by("starts_at")
    )


def open_rush(
    actor: Actor,
    *,
    service_point: ServicePoint,
    business: Business,
    opens_at: datetime,
    closes_at: datetime,
    slots: Sequence[Slot],
) -> RushWindow:
    """Open an application window for these slots; from now on they are not booked first
    come (the ledger refuses them), only allocated by the draw."""
    access.check(actor, Action.RUSH_OPEN, service_point)
    if not slots:
        raise BookingRefused(
            "rush.slots", _("Choose the slots of the draw, or the days whose slots it takes.")
        )
    if closes_at <= opens_at:
        raise BookingRefused("rush.window", _("The application window must close after it opens."))
    if any(
        s.service_point_id != service_point.pk or s.category_id != business.category_id
        for s in slots
    ):
        raise BookingRefused(
            "rush.slots", _("All slots must belong to this service point and business group.")
        )
    with locking_transaction():
        rush = RushWindow.objects.create(
            service_point=service_point,
            business=business,
            opens_at=opens_at,
            closes_at=closes_at,
            seed=secrets.token_hex(16),
        )
        wanted = [s.pk for s in slots]
        if Slot.objects.filter(pk__in=wanted, rush__isnull=True).update(rush=rush) != len(
            set(wanted)
        ):
            raise BookingRefused(
                "rush.slots", _("Some of these slots already belong to another draw.")
            )
        record(
            actor,
            "rush.open",
            target=rush,
            summary=f"{len(slots)} slots, seed sha256 {seed_hash(rush.seed)}",
        )
        # The worker allocates when the window closes, with nobody present.
        closes_at = rush.closes_at
        transaction.on_commit(
            lambda: booking_tasks.enqueue_after(booking_tasks.allocate_due_rushes, closes_at),
            robust=True,
        )
    return rush


def apply(
    holder: Actor,
    rush: RushWindow,
    id_number: str,
    applicant_class: str = DEFAULT_CLASS,
    now: datetime | None = None,
) -> RushRequest:
    """Apply in an open window: one application per ID number; a holder barred for missed
    appointments is refused with the date the bar ends."""
    access.check(holder, Action.RUSH_APPLY)
    moment = now or timezone.now()
    _refuse_unless_open(rush, moment)
    if applicant_class not in CLASS_RANK:
        raise BookingRefused("class.unknown", _("Unknown applicant class."))
    try:
        number = parse_resident_id(id_number).number
    except InvalidValue as exc:
        raise BookingRefused(exc.code, str(exc)) from exc
    digest = id_digest(number)
    holders.refuse_if_barred(digest, moment)
    with locking_transaction():
        # Applications share the window's row; the allocation takes it exclusively, so an
        # application is either in the draw or refused as too late, never in between.
        status = _share_window(rush.pk)
        if status != RushStatus.OPEN:
            rush.status = status or rush.status
            _refuse_unless_open(rush, moment)
        request, created = RushRequest.objects.get_or_create(
            rush=rush,
            id_digest=digest,
            defaults={
                "holder": holder,
                "id_masked": mask_resident_id(number),
                "applicant_class": applicant_class,
                "applied_on": timezone.localtime(moment).date(),
            },
        )
    if not created:
        raise BookingRefused(
            "rush.duplicate", _("This ID number has already applied in this window.")
        )
    return request


def _refuse_unless_open(rush: RushWindow, moment: datetime) -> None:
    if not rush.opens_at <= moment < rush.closes_at or rush.status != RushStatus.OPEN:
        raise BookingRefused(
            "rush.closed",
            _("Applications are taken from %(start)s to %(end)s.")
            % {
                "start": timezone.localtime(rush.opens_at).strftime("%Y-%m-%d %H:%M"),
                "end": timezone.localtime(rush.closes_at).strftime("%Y-%m-%d %H:%M"),
            },
        )


def _share_window(rush_id: int) -> str | None:
    """The window's status, read under a shared row lock (PostgreSQL's FOR SHARE; SQLite's
    transactions are serialised anyway)."""
    if connection.vendor != "postgresql":
        return RushWindow.objects.filter(pk=rush_id).values_list("status", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM booking_rushwindow WHERE id = %s FOR SHARE", [rush_id])
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def counts(rush_id: int) -> dict[str, Any] | None:
    """What a rush's public counter shows: applications so far, places in the draw, and its
    status (None for no such rush). Two reads, shared by every screen (core.live.sse_watch)."""
    window = (
        RushWindow.objects.filter(pk=rush_id).values("status", "business__service_minutes").first()
    )
    if window is None:
        return None
    minutes = max(1, window["business__service_minutes"])
    seats = sum(
        max(0, min(people - booked, (capacity - booked_minutes) // minutes))
        for people, booked, capacity, booked_minutes in Slot.objects.filter(
            rush_id=rush_id
        ).values_list("capacity_people", "booked_people", "capacity_minutes", "booked_minutes")
    )
    return {
        "applications": RushRequest.objects.filter(rush_id=rush_id).count(),
        "places": seats,
        "status": str(window["status"]),
    }


def _places(rush: RushWindow) -> list[Place]:
    """The seats of each of the rush's slots, read under the slots' locks."""
    minutes = rush.business.service_minutes
    places = []
    locked = ledger.lock(Slot.objects.filter(rush=rush).values_list("id", flat=True))
    for slot in locked.values():
        seats = min(
            slot.capacity_people - slot.booked_people,
            (slot.capacity_minutes - slot.booked_minutes) // minutes,
        )
        places.append(Place(slot.pk, max(0, seats)))
    return places


def _applicants(rush: RushWindow) -> list[Applicant]:
    return [
        Applicant(pk, CLASS_RANK[cls], day.toordinal())
        for pk, cls, day in RushRequest.objects.filter(rush=rush).values_list(
            "id", "applicant_class", "applied_on"
        )
    ]


def allocate_rush(rush_id: int, now: datetime | None = None) -> dict[str, int]:
    """Allocate a closed window once; calling it again does nothing. Winners' bookings are
    written through the ledger (all or nothing per slot); every applicant gets a notice,
    written to the outbox in the same transaction."""
    moment = now or timezone.now()
    with locking_transaction():
        rush = (
            RushWindow.objects.select_for_update()
            .select_related("business", "service_point")
            .get(pk=rush_id)
        )
        if rush.status != RushStatus.OPEN or moment < rush.closes_at:
            return {"won": 0, "lost": 0}
        places = _places(rush)
        requests = {r.pk: r for r in RushRequest.objects.filter(rush=rush).select_related("holder")}
        digests = [r.id_digest for r in requests.values()]
        taken_ids = set(
            BookingItem.objects.filter(
                business=rush.business, active=True, id_digest__in=digests
            ).values_list("id_digest", flat=True)
        )
        barred = holders.barred_digests(digests, moment)
        open_classes = _classes_the_policy_serves(rush)
        excluded = sorted(
            pk
            for pk, req in requests.items()
            if req.applicant_class not in open_classes
            or req.id_digest in taken_ids
            or req.id_digest in barred
        )
        left_out = set(excluded)
        result = allocate(
            [a for a in _applicants(rush) if a.request_id not in left_out], places, rush.seed
        )
        winners = [(requests[rid], sid) for rid, sid in result if sid is not None]
        minutes = rush.business.service_minutes
        in_force = policy.current_policy(moment)
        claims = {
            req.pk: ledger.Claim(minutes, is_priority(in_force, req.applicant_class))
            for req, _sid in winners
        }
        bookings = Booking.objects.bulk_create(
            [
                Booking(
                    token=secrets.token_urlsafe(32),
                    holder=req.holder,
                    slot_id=sid,
                    id_digest=req.id_digest,
                    id_masked=req.id_masked,
                    applicant_class=req.applicant_class,
                    minutes=minutes,
                    general_minutes=claims[req.pk].general_minutes,
                    rush_request=req,
                )
                for req, sid in winners
            ],
            batch_size=2000,
        )
        BookingItem.objects.bulk_create(
            [
                BookingItem(booking=b, business=rush.business, id_digest=b.id_digest)
                for b in bookings
            ],
            batch_size=2000,
        )
        BookingEvent.objects.bulk_create(
            [
                BookingEvent(booking=b, kind=BookingEventKind.ALLOCATED, detail=RULE[:300])
                for b in bookings
            ],
            batch_size=2000,
        )
        per_slot: dict[int, ledger.Delta] = {}
        for req, sid in winners:
            claim = claims[req.pk]
            per_slot.setdefault(sid, ledger.Delta()).add(
                ledger.held(sid, claim.minutes, claim.general_minutes)
            )
        for sid, delta in sorted(per_slot.items()):
            ledger.take_for_rush(rush.pk, sid, delta.people, delta.minutes, delta.general)
        won = {req.pk for req, _sid in winners}
        RushRequest.objects.filter(rush=rush, pk__in=won).update(won=True)
        RushRequest.objects.filter(rush=rush).exclude(pk__in=won).update(won=False)
        rush.status = RushStatus.ALLOCATED
        rush.allocated_at = moment
        rush.result_digest = result_digest(result)
        rush.places = [[p.slot_id, p.seats] for p in places]
        rush.excluded = excluded
        rush.save(update_fields=["status", "allocated_at", "result_digest", "places", "excluded"])
        record(
            None,
            "rush.allocate",
            target=rush,
            summary=f"{len(won)} won of {len(requests)}",
            detail={"seed": rush.seed, "digest": rush.result_digest, "rule": RULE},
        )
        slot_of = {req.pk: sid for req, sid in winners}
        queue_sms_many(_result_notices(rush, requests.values(), slot_of))
    return {"won": len(won), "lost": len(requests) - len(won)}


def _result_notices(
    rush: RushWindow, requests: Iterable[RushRequest], slot_of: dict[int, int]
) -> list[tuple[str, str, str]]:
    slot_times = dict(Slot.objects.filter(rush=rush).values_list("id", "starts_at"))
    texts = []
    for req in requests:
        if not req.holder.mobile:
            continue
        won_slot = slot_of.get(req.pk)
        if won_slot is not None:
            when = timezone.localtime(slot_times[won_slot]).strftime("%m月%d日 %H:%M")
            texts.append(
                (
                    req.holder.mobile,
                    f"【交管服务】{rush.business.name_zh}预约摇号结果：已约到 {when}。",
                    "rush.won",
                )
            )
        else:
            texts.append(
                (
                    req.holder.mobile,
                    f"【交管服务】{rush.business.name_zh}预约摇号结果：本次未约到，可参加下次。",
                    "rush.lost",
                )
            )
    return texts


def allocate_now(actor: Actor, rush: RushWindow) -> dict[str, int]:
    """An administrator allocates a closed window at once (instead of waiting for the worker)."""
    access.check(actor, Action.RUSH_ALLOCATE, rush)
    return allocate_rush(rush.pk)


def verify(rush: RushWindow) -> bool:
    """Re-run the published draw from the recorded inputs; True when it gives the same result."""
    if rush.status != RushStatus.ALLOCATED:
        return False
    places = [Place(slot_id, seats) for slot_id, seats in rush.places]
    left_out = set(rush.excluded)
    applicants = [a for a in _applicants(rush) if a.request_id not in left_out]
    return result_digest(allocate(applicants, places, rush.seed)) == rush.result_digest


def _classes_the_policy_serves(rush: RushWindow) -> set[str]:
    """Applicant classes the policy serves at every slot of the window (at allocation time)."""
    slots = list(Slot.objects.filter(rush=rush))
    facts = policy.business_facts(rush.business)
    served = set(CLASS_RANK)
    for slot in slots:
        situation = policy.situations([rush.service_point], slot.starts_at)[rush.service_point.pk]
        decider = policy.engine(slot.starts_at)
        served = {c for c in served if decider.decide(situation, facts, c).open}
    return served
