"""Rush mode for contested releases (e.g. exam slots): clicking speed must not matter.

Requests are collected while the application window is open. When it closes, places are
allocated by a published rule: priority class first, then the earlier application date, then
a seeded random draw. The seed's hash is published when the window opens and the seed itself
at allocation, so anyone can re-run the draw (`verify`) and get the same result.
"""

from __future__ import annotations

import gc
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.accounts.models import User
from trafficdesk.audit.services import record
from trafficdesk.booking import claims, holders, ledger, numbers
from trafficdesk.booking import tasks as booking_tasks  # the worker's entry points
from trafficdesk.booking.errors import BookingRefused
from trafficdesk.booking.models import (
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingItem,
    RushOffer,
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
from trafficdesk.core import sql
from trafficdesk.core.actions import Action
from trafficdesk.core.identity import id_digest
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.validators import (
    LICENCE_CLASSES,
    InvalidValue,
    mask_resident_id,
    parse_licence_classes,
    parse_resident_id,
)
from trafficdesk.core.vocabulary import (
    CLASS_RANK,
    DEFAULT_CLASS,
    OFFER_MOVES,
    ApplicantClass,
    ClaimKind,
    OfferStatus,
    sources_of,
)
from trafficdesk.enterprises.models import Vehicle
from trafficdesk.notify.services import (
    in_sms_language,
    queue_sms,
    queue_sms_bulk,
    sms_template,
    sms_text,
)
from trafficdesk.policy import services as policy
from trafficdesk.policy.rules import is_priority
from trafficdesk.sites.models import ServicePoint

# --- with the database -------------------------------------------------------------------------

# The draw's SMS (in Chinese, see notify.sms_text); the names are the business's and the
# place's Chinese names, the times already written the Chinese way.
WON_SMS = gettext_lazy(
    "%(name)s draw result: you have a place at %(where)s on %(when)s, application number "
    "%(pk)s. Please come on time."
)
LOST_SMS = gettext_lazy(
    "%(name)s draw result: no place this time; you are number %(rank)s on the waiting list "
    "(application number %(pk)s). If a place frees up, an SMS will ask you to confirm in time."
)
LEFT_OUT_SMS = gettext_lazy(
    "%(name)s application (application number %(pk)s) was not part of this draw: %(reason)s."
)
LEFT_OUT_REASONS = {
    "policy": gettext_lazy("the current rules do not open this business to your group then"),
    "booked": gettext_lazy("this ID number already has a booking of this business"),
    "barred": gettext_lazy("booking is suspended after several missed bookings"),
    "capped": gettext_lazy(
        "this account or this ID number already holds the most active bookings allowed"
    ),
}
OFFER_SMS = gettext_lazy(
    "Waiting list: a place is free for %(business)s at %(where)s on %(when)s (application "
    "number %(pk)s). Log in to confirm before %(until)s, or it passes to the next."
)
OFFER_ACCEPTED_SMS = gettext_lazy(
    "Waiting list: you have a place for %(business)s on %(when)s. Please come on time."
)


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
    applicant_classes: Sequence[str] = (),
    licence_classes: Sequence[str] = (),
    offer_hours: int | None = None,
) -> RushWindow:
    """Open an application window for these slots; from now on they are not booked first
    come (the ledger refuses them), only allocated by the draw. `applicant_classes` limits
    who may apply (none: every class the policy serves); `licence_classes`, for exams, the
    licence classes an applicant may apply for. The seed's SHA-256 is published now."""
    access.check(actor, Action.RUSH_OPEN, service_point)
    if not slots:
        raise BookingRefused(
            "rush.slots", _("Choose the slots of the draw, or the days whose slots it takes.")
        )
    if closes_at <= opens_at:
        raise BookingRefused("rush.window", _("The application window must close after it opens."))
    if closes_at <= timezone.now():
        raise BookingRefused("rush.window", _("The application window must close in the future."))
    if any(
        s.service_point_id != service_point.pk or s.category_id != business.category_id
        for s in slots
    ):
        raise BookingRefused(
            "rush.slots", _("All slots must belong to this service point and business group.")
        )
    if any(s.starts_at <= closes_at for s in slots):
        raise BookingRefused(
            "rush.slots",
            _("Every slot of the draw must start after the application window closes."),
        )
    classes = _known_classes(applicant_classes)
    licences = _known_licences(licence_classes)
    hours = settings.RUSH_OFFER_HOURS if offer_hours is None else offer_hours
    if not 1 <= hours <= 168:
        raise BookingRefused(
            "rush.offer_hours", _("The time to accept a freed place must be 1 to 168 hours.")
        )
    with locking_transaction():
        rush = RushWindow.objects.create(
            service_point=service_point,
            business=business,
            opens_at=opens_at,
            closes_at=closes_at,
            seed=secrets.token_hex(16),
            applicant_classes=classes,
            licence_classes=licences,
            offer_hours=hours,
        )
        _take_slots(rush, slots)
        record(
            actor,
            "rush.open",
            target=rush,
            summary=f"{len(slots)} slots, seed sha256 {seed_hash(rush.seed)}",
            detail={"classes": classes, "licence_classes": licences, "offer_hours": hours},
        )
        _schedule_allocation(rush.closes_at)
    return rush


def _known_classes(values: Sequence[str]) -> list[str]:
    unknown = [v for v in values if v not in CLASS_RANK]
    if unknown:
        raise BookingRefused("rush.classes", _("Unknown applicant class."))
    return sorted(set(values), key=CLASS_RANK.__getitem__)


def _known_licences(values: Sequence[str]) -> list[str]:
    unknown = [v for v in values if v not in LICENCE_CLASSES]
    if unknown:
        raise BookingRefused(
            "rush.licence_classes",
            _("Unknown licence class: %(value)s.") % {"value": ", ".join(unknown)[:40]},
        )
    return [c for c in LICENCE_CLASSES if c in set(values)]


def _take_slots(rush: RushWindow, slots: Sequence[Slot]) -> None:
    wanted = {s.pk for s in slots}
    if Slot.objects.filter(pk__in=wanted, rush__isnull=True).update(rush=rush) != len(wanted):
        raise BookingRefused("rush.slots", _("Some of these slots already belong to another draw."))


def _schedule_allocation(closes_at: datetime) -> None:
    """The worker allocates when the window closes, with nobody present; two later runs are
    the backstop should the worker be down or crash then (allocation is idempotent)."""
    for after in ALLOCATION_RUNS:
        transaction.on_commit(partial(_enqueue_allocation, closes_at + after), robust=True)


def _enqueue_allocation(when: datetime) -> None:
    booking_tasks.enqueue_after(booking_tasks.allocate_due_rushes, when)


ALLOCATION_RUNS = (timedelta(0), timedelta(minutes=10), timedelta(hours=1))


def add_slots(actor: Actor, rush: RushWindow, slots: Sequence[Slot]) -> RushWindow:
    """The one change allowed once a draw is open: more places, while it takes applications
    (the rule, the window and the seed stay as published)."""
    access.check(actor, Action.RUSH_CHANGE, rush)
    if not slots:
        raise BookingRefused("rush.slots", _("Choose the slots to add to the draw."))
    if any(
        s.service_point_id != rush.service_point_id or s.category_id != rush.business.category_id
        for s in slots
    ) or any(s.starts_at <= rush.closes_at for s in slots):
        raise BookingRefused(
            "rush.slots",
            _(
                "Slots added to a draw must belong to its service point and business group "
                "and start after its window closes."
            ),
        )
    with locking_transaction():
        if _lock_window(rush.pk) != RushStatus.OPEN:
            raise BookingRefused(
                "rush.allocated",
                _("This draw is already allocated; open a new draw for further slots."),
            )
        _take_slots(rush, slots)
        record(actor, "rush.add_slots", target=rush, summary=f"{len(slots)} slots added")
    return rush


def withdraw(actor: Actor, rush: RushWindow) -> None:
    """Take back a draw nobody has applied to: its slots return to first-come booking. A draw
    with applications cannot be withdrawn (the applicants were promised a fair draw)."""
    access.check(actor, Action.RUSH_CHANGE, rush)
    with locking_transaction():
        if _lock_window(rush.pk) is None:
            return
        if RushRequest.objects.filter(rush_id=rush.pk).exists():
            raise BookingRefused(
                "rush.has_applications",
                _(
                    "People have applied to this draw, so it cannot be withdrawn; it will be "
                    "allocated when its window closes. You can add slots to it."
                ),
            )
        Slot.objects.filter(rush_id=rush.pk).update(rush=None)
        record(actor, "rush.withdraw", target=rush, summary=f"{rush}")
        RushWindow.objects.filter(pk=rush.pk).delete()


def _lock_window(rush_id: int) -> str | None:
    return (
        RushWindow.objects.select_for_update()
        .filter(pk=rush_id)
        .values_list("status", flat=True)
        .first()
    )


def apply(
    holder: Actor,
    rush: RushWindow,
    id_number: str,
    applicant_class: str = DEFAULT_CLASS,
    now: datetime | None = None,
    *,
    licence_class: str = "",
    vehicle_id: int | None = None,
) -> RushRequest:
    """Apply in an open window: one application per ID number; the draw's eligibility (who
    may apply, the licence class examined), the policy at that service point now, and the
    no-show bar (refused with the date it ends). A priority class is proven by a vehicle of
    the holder's enterprise that holds it; nothing is stored on a refusal."""
    access.check(holder, Action.RUSH_APPLY)
    moment = now or timezone.now()
    _refuse_unless_open(rush, moment)
    if applicant_class not in CLASS_RANK:
        raise BookingRefused(
            "class.unknown", _("Unknown applicant class."), field="applicant_class"
        )
    if rush.applicant_classes and applicant_class not in rush.applicant_classes:
        raise BookingRefused(
            "rush.class",
            _("This draw is open to %(classes)s only.")
            % {"classes": "、".join(str(ApplicantClass(c).label) for c in rush.applicant_classes)},
            field="applicant_class",
        )
    try:
        number = parse_resident_id(id_number).number
    except InvalidValue as exc:
        raise BookingRefused(exc.code, str(exc), field="id_number") from exc
    licence = _licence_applied_for(rush, licence_class)
    assert isinstance(holder, User)
    # The real-name rule (accounts.realname), as for booking: one's own ID, a verified family
    # member's, or on an agent's fleet claim a driver's.
    holders.person_for(holder, number, agent=applicant_class != DEFAULT_CLASS and bool(vehicle_id))
    digest = id_digest(number)
    holders.refuse_if_barred(digest, moment)
    fleet = applicant_class != DEFAULT_CLASS and vehicle_id is not None
    if not fleet:  # the caps on active bookings, as for booking (a fleet has its share)
        holders.refuse_if_over_caps(holder.pk, digest)
    _refuse_unless_policy_serves(rush, applicant_class, moment)
    vehicle = _proven_vehicle(holder, rush, applicant_class, vehicle_id, digest)
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
                "licence_class": licence,
                "vehicle": vehicle,
                "applied_on": timezone.localtime(moment).date(),
            },
        )
    if not created:
        raise BookingRefused(
            "rush.duplicate",
            _(
                "This ID number has already applied in this draw (application %(number)s); "
                "one application per ID number. Its result is sent by SMS after the draw."
            )
            % {"number": request.pk},
        )
    return request


def _licence_applied_for(rush: RushWindow, value: str) -> str:
    if not rush.licence_classes:
        return ""
    try:
        classes = parse_licence_classes(value)
    except InvalidValue:
        classes = ()
    if len(classes) != 1 or classes[0] not in rush.licence_classes:
        raise BookingRefused(
            "rush.licence",
            _("Choose the licence class you are examined for: %(classes)s.")
            % {"classes": "、".join(rush.licence_classes)},
            field="licence_class",
        )
    return classes[0]


def _refuse_unless_policy_serves(rush: RushWindow, applicant_class: str, moment: datetime) -> None:
    """The policy check at apply time: the business is offered to this class at this service
    point now (the draw checks again, for each slot, when it allocates)."""
    decision = policy.decide_for(rush.service_point, rush.business, applicant_class, moment)
    if not decision.open:
        raise BookingRefused(
            "policy.closed",
            _("The policy does not offer this business here to you now, so you cannot apply."),
            reasons=[
                {"business": rush.business.code, "rule": r.rule, "zh": r.zh, "en": r.en}
                for r in decision.reasons
            ],
        )


def _proven_vehicle(
    holder: Actor, rush: RushWindow, applicant_class: str, vehicle_id: int | None, digest: str
) -> Vehicle | None:
    """A priority class ranks first in the draw, so it is proven at once: by a vehicle of an
    enterprise the holder acts for that holds the class (a permit awaiting review is not
    enough for a draw)."""
    if applicant_class == DEFAULT_CLASS:
        return None
    if vehicle_id is None or not isinstance(holder, User):
        raise BookingRefused(
            "rush.proof",
            _(
                "In a draw a priority class is proven by a vehicle of your enterprise's "
                "fleet that holds it; choose the vehicle, or apply as general public."
            ),
            field="vehicle",
        )
    first = Slot.objects.filter(rush=rush).order_by("starts_at").values_list("starts_at", flat=True)
    prepared = claims.prepare(
        holder,
        applicant_class,
        claims.ClaimIn(vehicle_id=vehicle_id),
        digest,
        first.first() or rush.closes_at,
    )
    return None if prepared is None else prepared.vehicle


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
        _seats(people, booked, capacity, booked_minutes, minutes)
        for people, booked, capacity, booked_minutes in Slot.objects.filter(
            rush_id=rush_id
        ).values_list("capacity_people", "booked_people", "capacity_minutes", "booked_minutes")
    )
    return {
        "applications": RushRequest.objects.filter(rush_id=rush_id).count(),
        "places": seats,
        "status": str(window["status"]),
    }


def _seats(people: int, booked: int, capacity: int, booked_minutes: int, minutes: int) -> int:
    """How many more applicants a slot can take (its people and its window-minutes)."""
    return max(0, min(people - booked, (capacity - booked_minutes) // max(1, minutes)))


# --- the allocation ----------------------------------------------------------------------------


def _places(rush: RushWindow) -> list[Place]:
    """The seats of each of the rush's slots, read under the slots' locks."""
    minutes = rush.business.service_minutes
    locked = ledger.lock(Slot.objects.filter(rush=rush).values_list("id", flat=True))
    return [
        Place(
            slot.pk,
            _seats(
                slot.capacity_people,
                slot.booked_people,
                slot.capacity_minutes,
                slot.booked_minutes,
                minutes,
            ),
        )
        for slot in locked.values()
    ]


def _left_out(rush: RushWindow, moment: datetime) -> dict[int, str]:
    """Applications that take no part in the draw, with why: the policy no longer serves
    their class at every slot; the ID number already holds a booking of this business; it
    is barred for missed appointments; or winning would take its account or ID past the cap
    of active bookings (holders.capped_applications). Read by joins, however many applications."""
    requests = RushRequest.objects.filter(rush=rush)
    reasons: dict[int, str] = {}
    open_classes = _classes_the_policy_serves(rush)
    for pk in requests.exclude(applicant_class__in=open_classes).values_list("id", flat=True):
        reasons[pk] = "policy"
    booked = requests.filter(
        id_digest__in=BookingItem.objects.filter(business=rush.business, active=True).values(
            "id_digest"
        )
    )
    for pk in booked.values_list("id", flat=True):
        reasons.setdefault(pk, "booked")
    barred = holders.barred_digests(requests.values("id_digest"), moment)
    if barred:
        for pk in requests.filter(id_digest__in=barred).values_list("id", flat=True):
            reasons.setdefault(pk, "barred")
    for pk in holders.capped_applications(requests, moment):
        reasons.setdefault(pk, "capped")
    return reasons


def allocate_rush(rush_id: int, now: datetime | None = None) -> dict[str, int]:
    """Allocate a closed window once, in one transaction; calling it again does nothing, and
    a crash part-way leaves nothing behind (the next run of the worker does it all). Winners'
    bookings are written through the ledger (all or nothing per slot); every applicant is
    told the outcome, in the outbox of the same transaction: the winners their booking, the
    others their place on the waiting list (or why they took no part)."""
    moment = now or timezone.now()
    with locking_transaction(), _no_cyclic_gc():
        rush = (
            RushWindow.objects.select_for_update()
            .select_related("business", "service_point")
            .get(pk=rush_id)
        )
        if rush.status != RushStatus.OPEN or moment < rush.closes_at:
            return {"won": 0, "lost": 0}
        places = _places(rush)
        left_out = _left_out(rush, moment)
        applicants = [
            Applicant(pk, CLASS_RANK[cls], day.toordinal())
            for pk, cls, day in RushRequest.objects.filter(rush=rush).values_list(
                "id", "applicant_class", "applied_on"
            )
            if pk not in left_out
        ]
        result = allocate(applicants, places, rush.seed)
        winners = [(rid, sid) for rid, sid in result if sid is not None]
        # One pass over the applications: each one's place in the draw and whether it won
        # (the winners come first); then the few left out.
        sql.set_integers_by_id(
            RushRequest._meta.db_table,
            "draw_rank",
            ((rid, rank) for rank, (rid, _sid) in enumerate(result, start=1)),
            also=f"won = ({{value}} <= {len(winners):d})",
        )
        RushRequest.objects.filter(pk__in=sorted(left_out)).update(won=False)
        _book_winners(rush, winners, moment)
        total = len(applicants) + len(left_out)
        rush.status = RushStatus.ALLOCATED
        rush.allocated_at = moment
        rush.result_digest = result_digest(result)
        rush.places = [[p.slot_id, p.seats] for p in places]
        rush.excluded = sorted(left_out)
        rush.save(update_fields=["status", "allocated_at", "result_digest", "places", "excluded"])
        record(
            None,
            "rush.allocate",
            target=rush,
            summary=f"{len(winners)} won of {total}",
            detail={
                "seed": rush.seed,
                "digest": rush.result_digest,
                "rule": RULE,
                "left_out": len(left_out),
            },
        )
        for notices in _result_notices(rush, len(winners), left_out):
            queue_sms_bulk(notices)
    return {"won": len(winners), "lost": total - len(winners)}


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A draw holds a million small objects at once; the cycle collector would walk them all
    again and again while the bookings and notices are built (none of them form cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _book_winners(
    rush: RushWindow, winners: Sequence[tuple[int, int]], moment: datetime
) -> list[Booking]:
    """The winners' bookings (with their items, events and, for a fleet vehicle, the granted
    claim), then the capacity through the ledger, one conditional UPDATE per slot."""
    slot_of = dict(winners)
    requests: list[RushRequest] = []
    ids = sorted(slot_of)
    for start in range(0, len(ids), 10_000):
        requests += RushRequest.objects.filter(pk__in=ids[start : start + 10_000]).select_related(
            "vehicle__enterprise"
        )
    minutes = rush.business.service_minutes
    in_force = policy.current_policy(moment)
    claim_of = {
        req.pk: ledger.Claim(minutes, is_priority(in_force, req.applicant_class))
        for req in requests
    }
    bookings = Booking.objects.bulk_create(
        numbers.unused(
            [
                Booking(
                    token=secrets.token_urlsafe(32),
                    holder_id=req.holder_id,
                    slot_id=slot_of[req.pk],
                    id_digest=req.id_digest,
                    id_masked=req.id_masked,
                    applicant_class=req.applicant_class,
                    minutes=minutes,
                    general_minutes=claim_of[req.pk].general_minutes,
                    rush_request=req,
                )
                for req in requests
            ]
        ),
        batch_size=2000,
    )
    BookingItem.objects.bulk_create(
        [BookingItem(booking=b, business=rush.business, id_digest=b.id_digest) for b in bookings],
        batch_size=2000,
    )
    BookingEvent.objects.bulk_create(
        [
            BookingEvent(booking=b, kind=BookingEventKind.ALLOCATED, detail=RULE[:300])
            for b in bookings
        ],
        batch_size=2000,
    )
    by_request = {b.rush_request_id: b for b in bookings}
    for req in requests:
        if req.vehicle is not None:
            day = timezone.localdate(by_request[req.pk].slot.starts_at)
            claims.attach(
                by_request[req.pk],
                claims.Prepared(req.applicant_class, day, ClaimKind.FLEET, req.vehicle),
                req.id_digest,
            )
    per_slot: dict[int, ledger.Delta] = {}
    for req in requests:
        claim = claim_of[req.pk]
        per_slot.setdefault(slot_of[req.pk], ledger.Delta()).add(
            ledger.held(slot_of[req.pk], claim.minutes, claim.general_minutes)
        )
    ledger.take_for_rush_many(rush.pk, per_slot)
    for starts_at in Slot.objects.filter(pk__in=list(per_slot)).values_list("starts_at", flat=True):
        booking_tasks.schedule_reminders(starts_at)  # the day-before SMS (booking.reminders)
    return bookings


def _result_notices(
    rush: RushWindow, winners: int, left_out: dict[int, str]
) -> Iterator[list[tuple[str, str, str]]]:
    """Every applicant's outcome, as (phone, text, kind), in chunks of 50,000 read by
    application number (each chunk is read before it is written: a COPY holds the
    connection)."""
    slots = {
        pk: timezone.localtime(at).strftime("%m月%d日 %H:%M")
        for pk, at in Slot.objects.filter(rush=rush).values_list("id", "starts_at")
    }
    name, where = rush.business.name_zh, rush.service_point.name_zh
    # Translated once per draw (SMS are in Chinese), filled per applicant.
    won_sms, lost_sms, left_out_sms = (sms_template(m) for m in (WON_SMS, LOST_SMS, LEFT_OUT_SMS))
    why = {key: in_sms_language(reason) for key, reason in LEFT_OUT_REASONS.items()}
    after = 0
    while True:
        rows = list(
            RushRequest.objects.filter(rush=rush, pk__gt=after)
            .order_by("id")
            .values_list("id", "holder__mobile", "draw_rank", "booking__slot_id")[:50_000]
        )
        if not rows:
            return
        after = rows[-1][0]
        chunk = []
        for pk, mobile, rank, slot_id in rows:
            if not mobile:
                continue
            if slot_id is not None:
                text = won_sms % {"name": name, "where": where, "when": slots[slot_id], "pk": pk}
                chunk.append((mobile, text, "rush.won"))
            elif rank is not None:
                text = lost_sms % {"name": name, "rank": rank - winners, "pk": pk}
                chunk.append((mobile, text, "rush.lost"))
            else:
                reason = why[left_out.get(pk, "policy")]
                text = left_out_sms % {"name": name, "pk": pk, "reason": reason}
                chunk.append((mobile, text, "rush.left_out"))
        yield chunk


def allocate_now(actor: Actor, rush: RushWindow) -> dict[str, int]:
    """An administrator allocates a closed window at once (instead of waiting for the worker)."""
    access.check(actor, Action.RUSH_ALLOCATE, rush)
    if timezone.now() < rush.closes_at:
        raise BookingRefused(
            "rush.still_open",
            _("This draw takes applications until %(end)s; it can be allocated after that.")
            % {"end": timezone.localtime(rush.closes_at).strftime("%Y-%m-%d %H:%M")},
        )
    return allocate_rush(rush.pk)


def _classes_the_policy_serves(rush: RushWindow) -> set[str]:
    """Applicant classes the policy serves at every slot of the window (at allocation time):
    the point's risk and phase history read once, each distinct situation decided once."""
    facts = policy.business_facts(rush.business)
    timeline = policy.SituationTimeline([rush.service_point])
    served = set(CLASS_RANK)
    seen: set[tuple[Any, ...]] = set()
    for starts_at in Slot.objects.filter(rush=rush).values_list("starts_at", flat=True):
        decider = policy.engine(starts_at)
        situation = timeline.at(rush.service_point.pk, starts_at)
        if (id(decider), situation) in seen:
            continue
        seen.add((id(decider), situation))
        served = {c for c in served if decider.decide(situation, facts, c).open}
    return served


# --- the waiting list --------------------------------------------------------------------------


def waiting_position(request: RushRequest) -> int | None:
    """The applicant's place on the waiting list (1 = next to be offered), None when not on it."""
    if request.won is not False or request.draw_rank is None:
        return None
    winners = RushRequest.objects.filter(rush_id=request.rush_id, won=True).count()
    return max(1, request.draw_rank - winners)


def fill_waiting_lists(now: datetime | None = None) -> int:
    """Offer every place freed in an allocated draw's slots (cancellations, released
    no-shows) to the next on its waiting list; the worker runs it after releasing capacity."""
    moment = now or timezone.now()
    lead = moment + timedelta(minutes=settings.RUSH_OFFER_MIN_LEAD_MINUTES)
    due = (
        Slot.objects.filter(rush__status=RushStatus.ALLOCATED, starts_at__gt=lead)
        .filter(booked_people__lt=F("capacity_people"))
        .values_list("rush_id", flat=True)
        .distinct()
    )
    return sum(fill_waiting_list(rush_id, moment) for rush_id in sorted(set(due)))


def fill_waiting_list(rush_id: int, now: datetime | None = None) -> int:
    """Offer the free seats of the draw's future slots, less those already offered, to the
    next applicants in draw order who were not offered one before; returns the offers made.
    Serialised by the draw's row lock, so a seat is never offered twice."""
    moment = now or timezone.now()
    made: list[RushOffer] = []
    with locking_transaction():
        rush = (
            RushWindow.objects.select_for_update()
            .select_related("business", "service_point")
            .filter(pk=rush_id, status=RushStatus.ALLOCATED)
            .first()
        )
        if rush is None:
            return 0
        free = _free_seats(rush, moment)
        if not free:
            return 0
        taken = set(
            BookingItem.objects.filter(business=rush.business, active=True).values_list(
                "id_digest", flat=True
            )
        )
        line = (
            RushRequest.objects.filter(
                rush=rush, won=False, draw_rank__isnull=False, offer__isnull=True
            )
            .select_related("holder")
            .order_by("draw_rank")
        )
        seats = [(slot, at) for slot, at, n in free for _i in range(n)]
        for request in line.iterator(chunk_size=200):
            if not seats:
                break
            if request.id_digest in taken or holders.no_show_ban_until(request.id_digest, moment):
                continue
            slot_id, starts_at = seats.pop(0)
            expires = min(
                moment + timedelta(hours=rush.offer_hours), starts_at - timedelta(minutes=30)
            )
            made.append(
                RushOffer.objects.create(
                    request=request,
                    slot_id=slot_id,
                    offered_at=moment,
                    expires_at=expires,
                )
            )
            _offer_notice(rush, request, starts_at, expires)
        if made:
            record(None, "rush.offer", target=rush, summary=f"{len(made)} places offered")
            last = max(o.expires_at for o in made)
            transaction.on_commit(
                lambda: booking_tasks.enqueue_after(booking_tasks.expire_offers_task, last),
                robust=True,
            )
    return len(made)


def _free_seats(rush: RushWindow, moment: datetime) -> list[tuple[int, datetime, int]]:
    """(slot, start, seats not booked and not on offer) of the draw's slots that start late
    enough for an offer to be answered."""
    lead = moment + timedelta(minutes=settings.RUSH_OFFER_MIN_LEAD_MINUTES)
    minutes = rush.business.service_minutes
    offered: dict[int, int] = {}
    for slot_id in RushOffer.objects.filter(
        request__rush=rush, status=OfferStatus.PENDING
    ).values_list("slot_id", flat=True):
        offered[slot_id] = offered.get(slot_id, 0) + 1
    free = []
    for slot in Slot.objects.filter(rush=rush, starts_at__gt=lead).order_by("starts_at", "id"):
        n = _seats(
            slot.capacity_people,
            slot.booked_people,
            slot.capacity_minutes,
            slot.booked_minutes,
            minutes,
        ) - offered.get(slot.pk, 0)
        if n > 0:
            free.append((slot.pk, slot.starts_at, n))
    return free


def _offer_notice(
    rush: RushWindow, request: RushRequest, starts_at: datetime, expires: datetime
) -> None:
    if not request.holder.mobile:
        return
    when = timezone.localtime(starts_at).strftime("%m月%d日 %H:%M")
    until = timezone.localtime(expires).strftime("%m月%d日 %H:%M")
    queue_sms(
        request.holder.mobile,
        sms_text(
            OFFER_SMS,
            business=rush.business.name_zh,
            where=rush.service_point.name_zh,
            when=when,
            pk=request.pk,
            until=until,
        ),
        kind="rush.offer",
        region_id=rush.service_point.region_id,
    )


def _move_offer(offer_id: int, target: OfferStatus, moment: datetime, **also: Any) -> bool:
    """One conditional UPDATE from a status that leads to `target`; True when it moved."""
    live = RushOffer.objects.filter(pk=offer_id, status__in=sources_of(OFFER_MOVES, target))
    if target == OfferStatus.ACCEPTED:
        live = live.filter(expires_at__gt=moment)
    return live.update(status=target, decided_at=moment, **also) == 1


def accept_offer(holder: Actor, offer: RushOffer, now: datetime | None = None) -> Booking:
    """Take the offered place before the offer ends: under the slot's lock, the seat must
    still be there (else the offer lapses and the refusal says so); the booking is written
    through the ledger into the draw's slot, never past its capacity."""
    access.check(holder, Action.RUSH_OFFER_ANSWER, offer.request)
    moment = now or timezone.now()
    gone = False
    with locking_transaction():
        request = RushRequest.objects.select_related(
            "rush__business", "holder", "vehicle__enterprise"
        ).get(pk=offer.request_id)
        rush = request.rush
        slot = ledger.lock([offer.slot_id])[offer.slot_id]
        minutes = rush.business.service_minutes
        room = _seats(
            slot.capacity_people,
            slot.booked_people,
            slot.capacity_minutes,
            slot.booked_minutes,
            minutes,
        )
        if room < 1:
            gone = _move_offer(offer.pk, OfferStatus.EXPIRED, moment)
        elif not _move_offer(offer.pk, OfferStatus.ACCEPTED, moment):
            raise _offer_gone(offer)
        else:
            booking = _accept(holder, request, offer, moment)
    if gone or room < 1:
        raise _offer_gone(offer)
    return booking


def _accept(holder: Actor, request: RushRequest, offer: RushOffer, moment: datetime) -> Booking:
    rush = request.rush
    if BookingItem.objects.filter(
        business=rush.business, active=True, id_digest=request.id_digest
    ).exists():
        raise BookingRefused(
            "booking.duplicate",
            _("This ID number already holds a booking of this business."),
        )
    if request.vehicle_id is None:  # the caps on active bookings (a fleet has its share)
        holders.lock_holder(request.holder_id, request.id_digest)
        holders.refuse_if_over_caps(request.holder_id, request.id_digest)
    (booking,) = _book_winners(rush, [(request.pk, offer.slot_id)], moment)
    RushOffer.objects.filter(pk=offer.pk).update(booking=booking)
    RushRequest.objects.filter(pk=request.pk).update(won=True)
    record(holder, "rush.offer_accept", target=rush, summary=f"application {request.pk}")
    if request.holder.mobile:
        when = timezone.localtime(booking.slot.starts_at).strftime("%m月%d日 %H:%M")
        queue_sms(
            request.holder.mobile,
            sms_text(OFFER_ACCEPTED_SMS, business=rush.business.name_zh, when=when),
            kind="rush.offer_accepted",
            region_id=rush.service_point.region_id,
        )
    return booking


def decline_offer(holder: Actor, offer: RushOffer, now: datetime | None = None) -> None:
    """Let the offered place pass; it goes to the next on the list at once."""
    access.check(holder, Action.RUSH_OFFER_ANSWER, offer.request)
    moment = now or timezone.now()
    with locking_transaction():
        if not _move_offer(offer.pk, OfferStatus.DECLINED, moment):
            raise _offer_gone(offer)
        record(holder, "rush.offer_decline", target=offer.request.rush, summary=f"offer {offer.pk}")
    fill_waiting_list(offer.request.rush_id, moment)


def expire_offers(now: datetime | None = None) -> int:
    """Offers not answered in time lapse; their places go to the next on the list."""
    moment = now or timezone.now()
    lapsed = list(
        RushOffer.objects.filter(status=OfferStatus.PENDING, expires_at__lte=moment).values_list(
            "id", "request__rush_id"
        )
    )
    rushes = set()
    for offer_id, rush_id in lapsed:
        with locking_transaction():
            if _move_offer(offer_id, OfferStatus.EXPIRED, moment):
                rushes.add(rush_id)
    for rush_id in sorted(rushes):
        rush = RushWindow.objects.get(pk=rush_id)
        record(None, "rush.offer_expire", target=rush, summary="offers not answered in time")
        fill_waiting_list(rush_id, moment)
    return len(rushes)


def _offer_gone(offer: RushOffer) -> BookingRefused:
    return BookingRefused(
        "rush.offer_gone",
        _(
            "This offer has ended (answered, or its time to accept has passed); the place "
            "went to the next on the waiting list. You can book other dates first come."
        ),
    )


# --- publication: anyone can re-derive the draw ------------------------------------------------


def draw_record(rush: RushWindow) -> dict[str, Any]:
    """What is published of a draw (docs/rush-draw.md): at once the rule and the seed's
    SHA-256; after the allocation also the seed, every application (ID number masked, its
    class rank and application day, whether it took part), the places and the result."""
    published: dict[str, Any] = {
        "format": "trafficdesk-draw/1",
        "rush": rush.pk,
        "service_point": rush.service_point.name_zh,
        "business": rush.business.name_zh,
        "opens_at": rush.opens_at.isoformat(),
        "closes_at": rush.closes_at.isoformat(),
        "rule": RULE,
        "class_ranks": {str(ApplicantClass(c).label): rank for c, rank in CLASS_RANK.items()},
        "seed_sha256": seed_hash(rush.seed),
    }
    if rush.status != RushStatus.ALLOCATED:
        return published
    left_out = set(rush.excluded)
    applications = [
        [pk, masked, CLASS_RANK[cls], day.toordinal(), pk not in left_out]
        for pk, masked, cls, day in RushRequest.objects.filter(rush=rush)
        .order_by("id")
        .values_list("id", "id_masked", "applicant_class", "applied_on")
        .iterator(chunk_size=20_000)
    ]
    result = rederive({"seed": rush.seed, "applications": applications, "places": rush.places})
    published.update(
        allocated_at=rush.allocated_at.isoformat() if rush.allocated_at else None,
        seed=rush.seed,
        places=rush.places,
        applications=applications,
        result=[[rid, sid] for rid, sid in result],
        result_sha256=rush.result_digest,
    )
    return published


def rederive(published: Mapping[str, Any]) -> list[tuple[int, int | None]]:
    """The allocation from a published draw record (the same rule `allocate` runs)."""
    applicants = [
        Applicant(int(pk), int(rank), int(day))
        for pk, _masked, rank, day, took_part in published["applications"]
        if took_part
    ]
    places = [Place(int(slot), int(seats)) for slot, seats in published["places"]]
    return allocate(applicants, places, str(published["seed"]))


def verify(rush: RushWindow) -> bool:
    """Re-derive the published draw; True when it gives the recorded result."""
    if rush.status != RushStatus.ALLOCATED:
        return False
    published = draw_record(rush)
    return (
        seed_hash(published["seed"]) == published["seed_sha256"]
        and result_digest(rederive(published)) == rush.result_digest
    )


def verify_published(published: Mapping[str, Any]) -> list[str]:
    """What is wrong with a published draw record (empty: it re-derives exactly)."""
    problems = []
    if seed_hash(str(published.get("seed", ""))) != published.get("seed_sha256"):
        problems.append("the seed does not match the commitment published when the draw opened")
    derived = rederive(published)
    if [list(r) for r in derived] != [list(r) for r in published.get("result", [])]:
        problems.append("the result differs from the one re-derived from the applications")
    if result_digest(derived) != published.get("result_sha256"):
        problems.append("the result's SHA-256 differs")
    return problems
