"""Service points, zones and windows: every change goes through here (pages, admin, demo
loader), access-checked, validated and audited in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Model
from django.dispatch import Signal
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import record, save_recorded
from trafficdesk.catalog.models import Business
from trafficdesk.core import live, provinces
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.locking import locking_transaction
from trafficdesk.sites.models import ServicePoint, Window, Zone

POINT_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "kind",
    "region",
    "address",
    "ppe_complete",
    "service_area_m2",
    "diversion_ease",
    "designated_emergency",
    "opens_at",
    "closes_at",
    "lunch_starts_at",
    "lunch_ends_at",
    "latitude",
    "longitude",
    "phone",
)
ZONE_FIELDS = ("name_zh", "name_en", "occupancy_cap", "is_open")
WINDOW_FIELDS = ("number", "kind", "zone", "is_open")


class SiteChangeRefused(Refusal):
    """A change that would break a rule of the site (a cap below the people inside, a window
    in another hall's zone); the message says which."""

    code = "site.refused"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def zone_cap_problem(zone: Zone) -> str | None:
    """Why this cap cannot be set now (people inside above it), or None. A pre-check for
    forms; save_zone decides with a conditional UPDATE."""
    if zone.pk is None or zone.occupancy_cap is None:
        return None
    present = Zone.objects.filter(pk=zone.pk).values_list("present", flat=True).first() or 0
    if zone.occupancy_cap < present:
        return _("%(n)d people are inside now; lower the cap once they have left.") % {"n": present}
    return None


def window_zone_problem(point_id: int | None, zone: Zone | None) -> str | None:
    """A window stands in a zone of its own service point."""
    if zone is not None and point_id is not None and zone.service_point_id != point_id:
        return _("A window belongs to a zone of its own service point.")
    return None


def _stays_at_its_point(model: type[Zone] | type[Window], pk: int, point_id: int) -> None:
    stored = model.objects.filter(pk=pk).values_list("service_point_id", flat=True).first()
    if stored != point_id:
        raise SiteChangeRefused(
            _("A zone or window stays at its service point; add a new one at the other point."),
            "service_point",
        )


def _audit(actor: Actor, action: str, target: Model, changed: Iterable[str]) -> None:
    record(actor, action, target=target, summary=str(target), detail={"fields": sorted(changed)})


#: Sent after the commit of a change that may change a hall's bookable slots (a new hall, new
#: hours, a zone or a window): the booking app, above this one, listens and makes the slots.
hall_slots_may_change = Signal()


def slots_follow(point_id: int) -> None:
    """Once this transaction commits, tell the booking app that the point's bookable slots
    may have changed (it refreshes them in the background): a new hall, new hours, a new zone
    or window are bookable at once, not after the next daily generate_slots run."""
    transaction.on_commit(
        lambda: hall_slots_may_change.send(sender=ServicePoint, point_id=point_id)
    )


def save_service_point(
    actor: Actor, point: ServicePoint, changed: Sequence[str] = POINT_FIELDS
) -> ServicePoint:
    """Create or change a service point (a new one needs SITE_CREATE in its county); its
    slots follow (slots_follow)."""
    if point.region_id is None:
        raise SiteChangeRefused(_("Choose the county of the service point."), "region")
    if (elsewhere := provinces.foreign_problem(point.region.code)) is not None:
        raise SiteChangeRefused(elsewhere, "region")
    creating = point.pk is None
    if not creating:
        access.check(actor, Action.SITE_EDIT, ServicePoint.objects.get(pk=point.pk))
    access.check(actor, Action.SITE_CREATE if creating else Action.SITE_EDIT, point)
    saved = save_recorded(actor, point, fields=POINT_FIELDS, changed=changed, action="servicepoint")
    slots_follow(saved.pk)
    return saved


def save_zone(actor: Actor, zone: Zone, changed: Sequence[str] = ZONE_FIELDS) -> Zone:
    """Create or change a zone. The cap never falls below the people inside now: the new cap
    is written by a conditional UPDATE that checks it."""
    access.check(actor, Action.SITE_EDIT, zone)
    creating = zone.pk is None
    if not creating:
        _stays_at_its_point(Zone, zone.pk, zone.service_point_id)
    with locking_transaction():
        if creating:
            zone.present = 0
            zone.save()
        else:
            fields = {f: getattr(zone, f) for f in changed if f in ZONE_FIELDS}
            if fields:
                updated = Zone.objects.filter(
                    pk=zone.pk,
                    present__lte=zone.occupancy_cap,
                    service_point_id=zone.service_point_id,
                ).update(**fields)
                if updated != 1:
                    present = Zone.objects.get(pk=zone.pk).present
                    raise SiteChangeRefused(
                        _("%(n)d people are inside now; lower the cap once they have left.")
                        % {"n": present},
                        "occupancy_cap",
                    )
            zone.refresh_from_db()
        _audit(actor, "zone.add" if creating else "zone.change", zone, changed)
    slots_follow(zone.service_point_id)
    return zone


def save_window(
    actor: Actor,
    window: Window,
    businesses: Iterable[Business] | None = None,
    changed: Sequence[str] = WINDOW_FIELDS,
) -> Window:
    """Create or change a window: its zone must be in the same service point."""
    access.check(actor, Action.SITE_EDIT, window)
    if window.pk is not None:
        _stays_at_its_point(Window, window.pk, window.service_point_id)
    zone = Zone.objects.filter(pk=window.zone_id).only("service_point_id").first()
    problem = window_zone_problem(window.service_point_id, zone)
    if problem is not None or zone is None:
        raise SiteChangeRefused(problem or _("Choose the zone of the window."), "zone")
    creating = window.pk is None
    with locking_transaction():
        if creating:
            window.save()
        else:
            window.save(update_fields=[f for f in changed if f in WINDOW_FIELDS] or None)
        if businesses is not None:
            window.businesses.set(list(businesses))
        _audit(
            actor,
            "window.add" if creating else "window.change",
            window,
            list(changed) + (["businesses"] if businesses is not None else []),
        )
    slots_follow(window.service_point_id)
    return window


def set_window_open(actor: Actor, window: Window, is_open: bool) -> Window:
    """The hall manager opens or closes a window."""
    access.check(actor, Action.WINDOW_OPEN_CLOSE, window)
    with locking_transaction():
        Window.objects.filter(pk=window.pk).update(is_open=is_open)
        live.publish(live.hall_channel(window.service_point_id), "queue", {})
        record(
            actor,
            "window.open" if is_open else "window.close",
            target=window,
            summary=str(window),
        )
    window.refresh_from_db()
    return window


BOARD_NOTICE_MAX = 200


def set_board_notice(
    actor: Actor, point: ServicePoint, text: str, speaks_english: bool
) -> ServicePoint:
    """The hall manager sets the line that scrolls along the bottom of the call display, and
    whether the display repeats each call in English; the boards follow at once."""
    access.check(actor, Action.WINDOW_OPEN_CLOSE, point)
    notice = " ".join(str(text or "").split())
    if len(notice) > BOARD_NOTICE_MAX:
        raise SiteChangeRefused(
            _("The notice is at most %(n)d characters.") % {"n": BOARD_NOTICE_MAX},
            "board_notice",
        )
    with locking_transaction():
        ServicePoint.objects.filter(pk=point.pk).update(
            board_notice=notice, board_speaks_english=bool(speaks_english)
        )
        point.board_notice, point.board_speaks_english = notice, bool(speaks_english)
        live.publish(
            live.hall_channel(point.pk),
            "board",
            {"notice": notice, "speaks_english": point.board_speaks_english},
        )
        _audit(actor, "servicepoint.change", point, ["board_notice", "board_speaks_english"])
    return point


def delete_zone(actor: Actor, zone: Zone) -> None:
    access.check(actor, Action.SITE_EDIT, zone)
    if zone.present or zone.windows.exists():
        raise SiteChangeRefused(
            _("Only an empty zone without windows can be removed; close it instead.")
        )
    with locking_transaction():
        label, pk = str(zone), zone.pk
        zone.delete()
        record(actor, "zone.delete", summary=label, detail={"pk": pk})


def delete_window(actor: Actor, window: Window) -> None:
    access.check(actor, Action.SITE_EDIT, window)
    with locking_transaction():
        label, pk = str(window), window.pk
        window.delete()
        record(actor, "window.delete", summary=label, detail={"pk": pk})
