"""What a citizen is told: the one place for citizen wording of the policy's answers.

The engine's reasons (`rules.Reason`, zh/en) name rules and phases precisely; they are for
staff and for the API's `reasons`. Citizens get one plain sentence of why (`plain_reason`)
and the ways forward (`ways_forward`): the online version, open places within a real
distance, the next date it opens if a change is scheduled, the office's phone number. The
booking pages, the booking API's 409 body and the "what is open" pages all use these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from trafficdesk.catalog.models import Business
from trafficdesk.core.vocabulary import RiskLevel, ServicePointKind
from trafficdesk.policy import services
from trafficdesk.policy.rules import Decision
from trafficdesk.sites.models import ServicePoint
from trafficdesk.sites.rules import NEARBY_RADIUS_KM, Point

STAFF_ONLY_RULES = frozenset({"R12.MORE_WINDOWS"})
"""Hints for staff (how many windows to open); never shown on citizen pages."""

#: Rules that qualify a decision rather than decide it (the deciding one comes after them).
_QUALIFIERS = frozenset({"R7.ONLINE", "R1.UNASSESSED", "R3.PHASE_CAPPED", "R2.RESUMPTION_FIRST"})


def level_words(level: str) -> str:
    """The risk level in words ("medium risk" / "中风险"), never its code."""
    try:
        return str(RiskLevel(level).label)
    except ValueError:
        return str(RiskLevel.LOW.label)


def _kind_words(kind: str) -> str:
    try:
        return str(ServicePointKind(kind).label)
    except ValueError:
        return ""


def deciding_rule(decision: Decision) -> str:
    """The rule that decided (the last reason that is not a qualifier)."""
    rules = [r.rule for r in decision.reasons if r.rule not in _QUALIFIERS]
    return rules[-1] if rules else ""


def plain_reason(decision: Decision, point_kind: str = "", *, open_windows: int = 1) -> str:
    """One plain sentence of why this place does not serve this applicant now (in the
    active language). For an open decision with no open window: that no window is open."""
    level = level_words(decision.risk_level)
    rule = deciding_rule(decision)
    if decision.open:
        if open_windows > 0:
            return ""
        return _("No window for this business is open here today.")
    sentences = {
        "R3.POINT_KIND_NOT_YET": lambda: (
            _(
                "This area is at %(level)s, and this kind of office (%(kind)s) reopens in a "
                "later phase."
            )
            % {"level": level, "kind": _kind_words(point_kind)}
        ),
        "R1.HIGH.NOT_DESIGNATED": lambda: _(
            "This area is at high risk: only a few designated offices keep emergency windows open."
        ),
        "R1.HIGH.EMERGENCY_ONLY": lambda: _(
            "This area is at high risk: for now only epidemic emergency vehicles and staff "
            "are served."
        ),
        "R1.HIGH.NOT_EMERGENCY_BUSINESS": lambda: _(
            "This area is at high risk: for now only urgent plate and licence business is handled."
        ),
        "R3.PHASE0_EMERGENCY_ONLY": lambda: _(
            "Offices here have not reopened yet; for now only emergency business is handled."
        ),
        "R3.NOT_IN_PHASE": lambda: (
            _("This area is at %(level)s, and this business reopens here in a later phase.")
            % {"level": level}
        ),
        "R1.NO_WINDOW_FOR_CLASS": lambda: (
            _("This area is at %(level)s, and no window serves applicants like you for now.")
            % {"level": level}
        ),
    }
    found = sentences.get(rule)
    return found() if found else _("This office does not offer this business to you now.")


def open_note(decision: Decision) -> str:
    """For an open place: how it serves you, in plain words."""
    if decision.appointment_required:
        return _("By appointment only.")
    return _("Walk-ins welcome.")


@dataclass(frozen=True)
class Way:
    """One way forward. `kind`: "online", "service_point", "next_open", "phone",
    "booking" (the booking that already holds the ID), "slot" (another time here)."""

    kind: str
    label: str
    url: str | None = None
    service_point: str | None = None
    distance_km: float | None = None
    phone: str | None = None
    starts_at: datetime | None = None
    slot_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def km_words(km: float) -> str:
    """The distance in words ("about 15 km"), rounded to a whole kilometre (at least 1)."""
    return _("about %(km)s km") % {"km": max(1, round(km))}


def online_way(business: Business) -> Way | None:
    if not business.online:
        return None
    return Way(
        "online",
        _("Apply online: %(business)s") % {"business": business.name},
        url=reverse("online:apply", args=[business.code]),
    )


def place_way(point: ServicePoint, km: float | None) -> Way:
    label = (
        point.name
        if km is None
        else _("%(name)s (%(distance)s)") % {"name": point.name, "distance": km_words(km)}
    )
    return Way(
        "service_point",
        label,
        service_point=point.code,
        distance_km=None if km is None else round(km, 1),
        phone=point.phone or None,
    )


def phone_way(point: ServicePoint) -> Way | None:
    if not point.phone:
        return None
    return Way(
        "phone",
        _("Ask %(office)s: %(phone)s") % {"office": point.name, "phone": point.phone},
        url=f"tel:{point.phone}",
        service_point=point.code,
        phone=point.phone,
    )


def next_open_way(when: datetime | None) -> Way | None:
    if when is None:
        return None
    day = formats.date_format(timezone.localtime(when), "SHORT_DATE_FORMAT")
    return Way("next_open", _("Expected to open here from %(day)s.") % {"day": day}, starts_at=when)


def ways_forward(
    point: ServicePoint,
    business: Business,
    applicant_class: str,
    *,
    origin: Point | None = None,
    at: datetime | None = None,
) -> list[Way]:
    """What a citizen refused at `point` can do instead: the online version, open places of
    the province within NEARBY_RADIUS_KM of `origin` (the point itself by default) with
    their distance, the next date it opens here if a change is scheduled, and the
    office's phone number."""
    found: list[Way] = []
    online = online_way(business)
    if online is not None:
        found.append(online)
    here = origin or services.point_origin(point)
    for answer in services.open_nearby(
        here,
        business,
        applicant_class,
        province_code=point.region.code,
        exclude=[point.pk],
        at=at,
    ):
        found.append(place_way(answer.point, answer.km))
    later = next_open_way(services.next_open_at(point, business, applicant_class, at))
    if later is not None:
        found.append(later)
    phone = phone_way(point)
    if phone is not None:
        found.append(phone)
    return found


def none_near_sentence(radius_km: float = NEARBY_RADIUS_KM) -> str:
    return _("No open place for this business within %(km)s km.") % {"km": round(radius_km)}
