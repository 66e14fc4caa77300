"""Deferral windows (opened and closed by administrators, audited) and deadline checks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import record, save_recorded
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.identity import id_digest
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.validators import InvalidValue, mask_plate, parse_plate, parse_resident_id
from trafficdesk.core.vocabulary import RegionLevel
from trafficdesk.deferral import rules
from trafficdesk.deferral.models import DeferralWindow, DriverRecord, VehicleRecord
from trafficdesk.regions.models import Region


class DeferralError(Refusal):
    code = "deferral.refused"


def open_window(
    actor: Actor,
    region: Region,
    *,
    name: str,
    starts_on: date,
    ends_on: date | None = None,
    kinds: tuple[str, ...] = ("renewal", "review", "inspection"),
    grace_days: int = 0,
) -> DeferralWindow:
    access.check(actor, Action.DEFERRAL_OPEN, region)
    if ends_on is not None and ends_on < starts_on:
        raise DeferralError(_("The last day cannot come before the first day."))
    unknown = set(kinds) - {k.value for k in rules.DeadlineKind}
    if unknown or not kinds:
        raise DeferralError(_("Choose which deadlines the window covers."))
    with locking_transaction():
        window = DeferralWindow.objects.create(
            name=name,
            starts_on=starts_on,
            ends_on=ends_on,
            grace_days=grace_days,
            region=region,
            author=access.as_user(actor),
            covers_renewal="renewal" in kinds,
            covers_review="review" in kinds,
            covers_inspection="inspection" in kinds,
        )
        record(actor, "deferral.open", target=window, summary=str(window))
    return window


def announce_end(
    actor: Actor, window: DeferralWindow, ends_on: date, grace_days: int | None = None
) -> DeferralWindow:
    """The authority sets the end of a window that was open "until announced" (or moves it)."""
    access.check(actor, Action.DEFERRAL_OPEN, window)
    if ends_on < window.starts_on:
        raise DeferralError(_("The last day cannot come before the first day."))
    with locking_transaction():
        window.ends_on = ends_on
        if grace_days is not None:
            window.grace_days = grace_days
        window.save(update_fields=["ends_on", "grace_days"])
        record(actor, "deferral.close", target=window, summary=str(window))
    return window


WINDOW_FIELDS = (
    "name",
    "starts_on",
    "ends_on",
    "grace_days",
    "region",
    "covers_renewal",
    "covers_review",
    "covers_inspection",
)


def update_window(
    actor: Actor, window: DeferralWindow, changed: tuple[str, ...] | list[str] = WINDOW_FIELDS
) -> DeferralWindow:
    """Change a deferral window (the admin's edit form); the same checks as opening one."""
    access.check(actor, Action.DEFERRAL_OPEN, DeferralWindow.objects.get(pk=window.pk))
    access.check(actor, Action.DEFERRAL_OPEN, window)
    if window.ends_on is not None and window.ends_on < window.starts_on:
        raise DeferralError(_("The last day cannot come before the first day."))
    if not (window.covers_renewal or window.covers_review or window.covers_inspection):
        raise DeferralError(_("Choose which deadlines the window covers."))
    return save_recorded(actor, window, fields=WINDOW_FIELDS, changed=changed, action="deferral")


def windows_for(region: Region | None = None) -> list[rules.Window]:
    found = DeferralWindow.objects.all()
    if region is not None:
        codes = region.path.split("/")
        found = found.filter(region__code__in=codes)
    return [w.as_rule() for w in found]


@dataclass
class DeadlineAnswer:
    kind: str
    due: date
    result: rules.CheckResult


def check_person(
    actor: Actor, id_number: str, on_date: date | None = None
) -> tuple[DriverRecord | None, list[DeadlineAnswer]]:
    """A violation-processing clerk looks a driver up by ID number; the look-up is audited."""
    access.check(actor, Action.DEFERRAL_LOOKUP)
    try:
        number = parse_resident_id(id_number).number
    except InvalidValue as exc:
        raise DeferralError(str(exc)) from exc
    driver = DriverRecord.objects.filter(id_digest=id_digest(number)).first()
    record(
        actor,
        "personal_data.lookup",
        target=driver,
        summary="driver looked up by ID number",
        outcome="ok" if driver else "failed",
    )
    if driver is None:
        return None, []
    today = on_date or timezone.localdate()
    windows = windows_for(getattr(actor, "region", None))
    answers = [
        DeadlineAnswer(
            "renewal",
            driver.renewal_due,
            rules.check("renewal", driver.renewal_due, today, windows),
        )
    ]
    if driver.review_due:
        answers.append(
            DeadlineAnswer(
                "review",
                driver.review_due,
                rules.check("review", driver.review_due, today, windows),
            )
        )
    return driver, answers


def check_vehicle(
    actor: Actor, plate: str, on_date: date | None = None
) -> tuple[VehicleRecord | None, list[DeadlineAnswer]]:
    access.check(actor, Action.DEFERRAL_LOOKUP)
    try:
        number = parse_plate(plate).number
    except InvalidValue as exc:
        raise DeferralError(str(exc)) from exc
    vehicle = VehicleRecord.objects.filter(plate=number).first()
    record(
        actor,
        "personal_data.lookup",
        target=vehicle,
        summary="vehicle looked up by plate",
        outcome="ok" if vehicle else "failed",
    )
    if vehicle is None:
        return None, []
    today = on_date or timezone.localdate()
    due = vehicle.inspection_due
    return vehicle, [
        DeadlineAnswer(
            "inspection",
            due,
            rules.check("inspection", due, today, windows_for(getattr(actor, "region", None))),
        )
    ]


@dataclass
class EndingSoon:
    kind: str
    who: str
    due: date
    new_deadline: date
    mobile: str


def masked_for_list(row: EndingSoon) -> EndingSoon:
    """The row as the staff list shows it: the plate masked (the ID number already is), no
    mobile number."""
    who = mask_plate(row.who) if row.kind == "inspection" else row.who
    return replace(row, who=who, mobile="")


def ending_soon(actor: Actor, days: int, today: date | None = None) -> list[EndingSoon]:
    """People and vehicles whose deferred deadline falls within `days` days, to notify them:
    those registered in the actor's region, under the windows that apply there (its own and
    those of the regions it lies in)."""
    access.check(actor, Action.DEFERRAL_REPORT)
    start = today or timezone.localdate()
    horizon = start + timedelta(days=days)
    ended = DeferralWindow.objects.filter(ends_on__isnull=False)
    drivers_here = access.scope(actor, DriverRecord.objects.all(), Action.DEFERRAL_REPORT)
    vehicles_here = access.scope(actor, VehicleRecord.objects.all(), Action.DEFERRAL_REPORT)
    found: list[EndingSoon] = []
    for stored in access.scope_regions(
        actor, ended.select_related("region"), Action.DEFERRAL_REPORT
    ):
        window = stored.as_rule()
        # a window covers the people and vehicles registered in its region
        covers = (
            Q()
            if stored.region.level == RegionLevel.PROVINCE
            else stored.region.subtree_q("region")
        )
        drivers, vehicles = drivers_here.filter(covers), vehicles_here.filter(covers)
        deadline = rules.deferred_deadline(window)
        if deadline is None or not start <= deadline <= horizon:
            continue
        covered = Q(renewal_due__gte=window.starts_on, renewal_due__lte=window.ends_on)
        if "renewal" in window.kinds:
            found += [
                EndingSoon("renewal", d.id_masked, d.renewal_due, deadline, d.mobile)
                for d in drivers.filter(covered, renewal_due__lt=start)
            ]
        if "review" in window.kinds:
            found += [
                EndingSoon("review", d.id_masked, d.review_due, deadline, d.mobile)  # type: ignore[arg-type]
                for d in drivers.filter(
                    review_due__gte=window.starts_on,
                    review_due__lte=window.ends_on,
                    review_due__lt=start,
                )
            ]
        if "inspection" in window.kinds:
            found += [
                EndingSoon("inspection", v.plate, v.inspection_due, deadline, v.owner_mobile)
                for v in vehicles.filter(
                    inspection_due__gte=window.starts_on,
                    inspection_due__lte=window.ends_on,
                    inspection_due__lt=start,
                )
            ]
    return sorted(found, key=lambda e: (e.new_deadline, e.kind, e.who))


def ending_soon_for_staff(actor: Actor, days: int) -> list[EndingSoon]:
    """The report as staff read it, on the page and in the API alike: plates masked, no
    mobile numbers (`masked_for_list`)."""
    return [masked_for_list(row) for row in ending_soon(actor, days)]
