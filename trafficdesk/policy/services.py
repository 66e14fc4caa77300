"""Policy versions, region phases and decisions for real service points (SPEC R1-R6).

The rules themselves are in `rules.py` (pure); this module gathers the facts from the
database, caches the parsed policy, and records every change with its reason and audit entry.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Prefetch
from django.dispatch import Signal
from django.utils.translation import gettext as _
from pydantic import ValidationError as PydanticValidationError

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import record
from trafficdesk.catalog.models import Business
from trafficdesk.core import clock, localcache
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.locking import locking_transaction
from trafficdesk.policy.document import MAX_PHASE, PolicyDocument, default_policy
from trafficdesk.policy.models import DomainEvent, EventKind, PhaseSetting, PolicyVersion
from trafficdesk.policy.rules import BusinessFacts, Decision, Engine, Situation, readiness_key
from trafficdesk.regions.models import Region, RiskAssessment
from trafficdesk.regions.rules import code_prefix
from trafficdesk.sites.models import ServicePoint, Window
from trafficdesk.sites.rules import NEARBY_RADIUS_KM, Point, county_point, distance_km, is_near

policy_changed = Signal()
"""Sent with `event` (a DomainEvent) after a policy version or a phase is recorded."""

VERSIONS_CACHE_KEY = "policy:versions"
_engines: dict[tuple[int, datetime | None], Engine] = {}


class InvalidPolicyChange(Refusal):
    code = "policy.invalid"


# --- the policy document, cached ----------------------------------------------------------


_local_versions = localcache.ttl_cache(maxsize=1)
_local_timelines = localcache.ttl_cache(maxsize=8192)


def _version_index() -> list[tuple[int, datetime]]:
    return localcache.get_or_set(_local_versions, "versions", _shared_version_index)  # type: ignore[no-any-return]


def _shared_version_index() -> list[tuple[int, datetime]]:
    index = cache.get(VERSIONS_CACHE_KEY)
    if index is None:
        index = list(
            PolicyVersion.objects.order_by("effective_from", "id").values_list(
                "id", "effective_from"
            )
        )
        cache.set(VERSIONS_CACHE_KEY, index, 300)
    return index


def _version_in_force(at: datetime | None) -> tuple[int, datetime | None]:
    moment = clock.moment(at)
    in_force = [(vid, since) for vid, since in _version_index() if since <= moment]
    return in_force[-1] if in_force else (0, None)


def current_version_id(at: datetime | None = None) -> int:
    """The id of the version in force at `at` (0 = the packaged default policy)."""
    return _version_in_force(at)[0]


def engine(at: datetime | None = None) -> Engine:
    """The engine for the policy in force; parsed once per version and process. Keyed by id
    and effective time, so that a reused id (SQLite after a rollback) is never mistaken."""
    key = _version_in_force(at)
    found = _engines.get(key)
    if found is None:
        if key[0] == 0:
            document = default_policy()
        else:
            document = PolicyDocument.model_validate(PolicyVersion.objects.get(pk=key[0]).document)
        found = _engines[key] = Engine(document)
    return found


def current_policy(at: datetime | None = None) -> PolicyDocument:
    return engine(at).policy


def parse_policy(document: Any) -> PolicyDocument:
    """Validate a policy document; the error says which field is wrong and why."""
    try:
        return PolicyDocument.model_validate(document)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'policy'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidPolicyChange(problems) from exc


def publish_policy(
    actor: Actor, document: Any, *, reason: str, effective_from: datetime | None = None
) -> PolicyVersion:
    """A new version of the province's policy (a province administrator), from a moment on."""
    access.check(actor, Action.POLICY_PUBLISH)
    parsed = parse_policy(document)
    if not reason.strip():
        raise InvalidPolicyChange(_("Give a reason for the change."))
    moment = clock.moment(effective_from)
    with locking_transaction():
        version = PolicyVersion.objects.create(
            document=parsed.model_dump(mode="json"),
            effective_from=moment,
            author=access.as_user(actor),
            reason=reason.strip(),
        )
        record(
            actor,
            "policy.publish",
            target=version,
            summary=f"policy v{version.pk} from {moment:%Y-%m-%d %H:%M}",
            detail={"reason": version.reason},
        )
        event = _event(
            EventKind.POLICY_CHANGED,
            None,
            moment,
            f"policy v{version.pk}: {version.reason}",
            {"version": version.pk},
        )
        localcache.clear_all()
        transaction.on_commit(lambda: cache.delete(VERSIONS_CACHE_KEY), robust=True)
        transaction.on_commit(localcache.clear_all, robust=True)
        transaction.on_commit(
            lambda: policy_changed.send_robust(sender=PolicyVersion, event=event), robust=True
        )
    return version


# --- phases -----------------------------------------------------------------------------


def set_phase(
    actor: Actor, region: Region, phase: int, *, reason: str, effective_from: datetime | None = None
) -> PhaseSetting:
    """Set a region's reopening phase (0-3) from a moment on. Checked before the transaction
    so that a refusal stays in the audit log."""
    access.check(actor, Action.PHASE_SET, region)
    if not 0 <= phase <= MAX_PHASE:
        raise InvalidPolicyChange(_("The phase is 0, 1, 2 or 3."))
    if not reason.strip():
        raise InvalidPolicyChange(_("Give a reason for the change."))
    moment = clock.moment(effective_from)
    with locking_transaction():
        setting = PhaseSetting.objects.create(
            region=region,
            phase=phase,
            effective_from=moment,
            author=access.as_user(actor),
            reason=reason.strip(),
        )
        record(
            actor,
            "phase.set",
            target=region,
            summary=f"{region.code} → phase {phase}",
            detail={"phase": phase, "reason": setting.reason},
        )
        localcache.clear_all()
        transaction.on_commit(localcache.clear_all, robust=True)
        event = _event(
            EventKind.PHASE_CHANGED,
            region,
            moment,
            f"{region.code} → phase {phase}",
            {"phase": phase, "setting": setting.pk},
        )
        transaction.on_commit(
            lambda: policy_changed.send_robust(sender=PhaseSetting, event=event), robust=True
        )
    return setting


def phases_in_force(regions: Iterable[Region], at: datetime | None = None) -> dict[int, int]:
    """Each region's phase: its own setting, else its nearest ancestor's, else 0."""
    moment = clock.moment(at)
    regions = list(regions)
    codes = {code for region in regions for code in region.path.split("/")}
    latest: dict[str, int] = {}
    for code, phase in (
        PhaseSetting.objects.filter(region__code__in=codes, effective_from__lte=moment)
        .order_by("region__code", "-effective_from", "-id")
        .values_list("region__code", "phase")
    ):
        latest.setdefault(code, phase)
    result = {}
    for region in regions:
        chain = region.path.split("/")
        result[region.pk] = next((latest[c] for c in reversed(chain) if c in latest), 0)
    return result


def record_risk_event(sender: Any, assessment: RiskAssessment, **kwargs: Any) -> None:
    """Subscribed to regions.services.risk_level_changed."""
    localcache.clear_all()
    transaction.on_commit(localcache.clear_all, robust=True)
    event = _event(
        EventKind.RISK_CHANGED,
        assessment.region,
        assessment.effective_from,
        f"{assessment.region.code} → {assessment.level}",
        {"level": assessment.level, "assessment": assessment.pk},
    )
    transaction.on_commit(
        lambda: policy_changed.send_robust(sender=RiskAssessment, event=event), robust=True
    )


def _event(
    kind: str, region: Region | None, moment: datetime, summary: str, payload: dict[str, Any]
) -> DomainEvent:
    return DomainEvent.objects.create(
        kind=kind, region=region, effective_from=moment, summary=summary[:300], payload=payload
    )


# --- decisions for real service points -----------------------------------------------------


def business_facts(business: Business) -> BusinessFacts:
    return BusinessFacts(category=business.category.code, online=business.online)


class SituationTimeline:
    """The risk and phase histories of some service points, loaded in two queries, so that
    their situation at any moment is computed without the database."""

    def __init__(self, points: Iterable[ServicePoint]) -> None:
        self.points = {point.pk: point for point in points}
        counties = {point.region_id: point.region for point in self.points.values()}
        self._risk: dict[int, tuple[list[datetime], list[str]]] = {}
        for region_id, since, level in (
            RiskAssessment.objects.filter(region_id__in=counties)
            .order_by("region_id", "effective_from", "id")
            .values_list("region_id", "effective_from", "level")
        ):
            times, levels = self._risk.setdefault(region_id, ([], []))
            times.append(since)
            levels.append(level)
        self._chains = {rid: region.path.split("/") for rid, region in counties.items()}
        codes = {code for chain in self._chains.values() for code in chain}
        self._phase: dict[str, tuple[list[datetime], list[int]]] = {}
        for code, since, phase in (
            PhaseSetting.objects.filter(region__code__in=codes)
            .order_by("region__code", "effective_from", "id")
            .values_list("region__code", "effective_from", "phase")
        ):
            times, phases = self._phase.setdefault(code, ([], []))
            times.append(since)
            phases.append(phase)

    @staticmethod
    def _latest(history: tuple[list[Any], list[Any]] | None, moment: datetime) -> Any:
        if history is None:
            return None
        index = bisect_right(history[0], moment)
        return history[1][index - 1] if index else None

    def at(self, point_id: int, moment: datetime) -> Situation:
        point = self.points[point_id]
        phase = 0
        for code in reversed(self._chains[point.region_id]):
            found = self._latest(self._phase.get(code), moment)
            if found is not None:
                phase = found
                break
        return Situation(
            risk_level=self._latest(self._risk.get(point.region_id), moment),
            region_phase=phase,
            point_kind=point.kind,
            designated_emergency=point.designated_emergency,
        )


def situation_of(point: ServicePoint, at: datetime | None = None) -> Situation:
    """One point's situation, from a briefly cached timeline (see core.localcache)."""
    timeline = localcache.get_or_set(_local_timelines, point.pk, lambda: SituationTimeline([point]))
    return timeline.at(point.pk, clock.moment(at))  # type: ignore[no-any-return]


def situations(points: Iterable[ServicePoint], at: datetime | None = None) -> dict[int, Situation]:
    moment = clock.moment(at)
    timeline = SituationTimeline(points)
    return {point_id: timeline.at(point_id, moment) for point_id in timeline.points}


def decide_for(
    point: ServicePoint, business: Business, applicant_class: str, at: datetime | None = None
) -> Decision:
    return engine(at).decide(situation_of(point, at), business_facts(business), applicant_class)


@dataclass
class PointAnswer:
    point: ServicePoint
    decision: Decision
    risk_level: str
    open_windows: int
    reasons: list[Any] = field(default_factory=list)
    km: float | None = None
    """The great-circle distance from where the question was asked (sites.rules), if known."""

    @property
    def can_go_today(self) -> bool:
        return self.decision.open and self.open_windows > 0


@dataclass
class OpenServices:
    business: Business
    applicant_class: str
    open: list[PointAnswer]
    closed: list[PointAnswer]
    nearby: list[PointAnswer]
    online: bool
    radius_km: float = NEARBY_RADIUS_KM
    """`nearby` holds open places of the province within this distance, nearest first."""


def _points_under(prefix: str) -> Any:
    windows = Window.objects.filter(is_open=True).prefetch_related("businesses")
    return (
        ServicePoint.objects.filter(region__code__startswith=prefix)
        .select_related("region", "region__parent")
        .prefetch_related(Prefetch("windows", queryset=windows, to_attr="open_window_list"))
    )


def _answers(
    points: list[ServicePoint], business: Business, applicant_class: str, at: datetime | None
) -> list[PointAnswer]:
    found = situations(points, at)
    decider = engine(at)
    facts = business_facts(business)
    answers = []
    for point in points:
        decision = decider.decide(found[point.pk], facts, applicant_class)
        usable = [
            w
            for w in point.open_window_list  # type: ignore[attr-defined]
            if w.kind in decision.window_kinds
            and any(b.pk == business.pk for b in w.businesses.all())
        ]
        answers.append(PointAnswer(point, decision, decision.risk_level, len(usable)))
    answers.sort(
        key=lambda a: readiness_key(
            a.point.ppe_complete, a.point.service_area_m2, a.point.diversion_ease, a.point.code
        )
    )
    return answers


def region_point(region: Region) -> Point | None:
    """Where distances from a region are measured from (sites.rules.county_point)."""
    own = [
        p.coordinates
        for p in ServicePoint.objects.filter(region=region).only("latitude", "longitude")
    ]
    parent_code = region.parent.code if region.parent_id and region.parent else None
    return county_point(region.code, parent_code, own)


def point_origin(point: ServicePoint) -> Point | None:
    """Where distances from a service point are measured from: its coordinates, else its
    county's point."""
    return point.coordinates or region_point(point.region)


def _measure(answers: list[PointAnswer], origin: Point | None) -> list[PointAnswer]:
    for answer in answers:
        there = answer.point.coordinates
        answer.km = distance_km(origin, there) if origin and there else None
    return answers


def by_distance(answers: list[PointAnswer]) -> list[PointAnswer]:
    """Nearest first; places whose distance is unknown last, in their former order."""
    return sorted(answers, key=lambda a: (a.km is None, a.km or 0.0))


def open_nearby(
    origin: Point | None,
    business: Business,
    applicant_class: str,
    *,
    province_code: str,
    exclude: Iterable[int] = (),
    at: datetime | None = None,
    radius_km: float = NEARBY_RADIUS_KM,
    limit: int = 5,
) -> list[PointAnswer]:
    """Open places of the province for this applicant within `radius_km` of `origin`,
    nearest first; none when the origin is unknown (nothing is called near by guess)."""
    if origin is None:
        return []
    skip = set(exclude)
    points = [
        p
        for p in _points_under(code_prefix(province_code[:2] + "0000"))
        if p.pk not in skip and p.coordinates is not None
    ]
    found = _measure(_answers(points, business, applicant_class, at), origin)
    near = [a for a in found if a.can_go_today and is_near(a.km, radius_km)]
    return by_distance(near)[:limit]


def open_services(
    region: Region, business: Business, applicant_class: str, at: datetime | None = None
) -> OpenServices:
    """Where this applicant can go for this business in this region today (nearest first),
    why the other places are closed, open places within NEARBY_RADIUS_KM when none here is,
    and the online alternative."""
    origin = region_point(region)
    answers = _measure(
        _answers(list(_points_under(code_prefix(region.code))), business, applicant_class, at),
        origin,
    )
    open_here = by_distance([a for a in answers if a.can_go_today])
    closed_here = [a for a in answers if not a.can_go_today]
    nearby: list[PointAnswer] = []
    if not open_here:
        nearby = open_nearby(
            origin,
            business,
            applicant_class,
            province_code=region.code,
            exclude=[a.point.pk for a in answers],
            at=at,
        )
    return OpenServices(business, applicant_class, open_here, closed_here, nearby, business.online)


def places_for(
    region: Region, business: Business, applicant_class: str, at: datetime | None = None
) -> list[PointAnswer]:
    """The booking flow's places: every service point of the province with a window for
    this business, each with its distance from the county and its decision for this
    applicant, nearest first."""
    points = [
        p
        for p in _points_under(code_prefix(region.code[:2] + "0000"))
        .filter(windows__businesses=business)
        .distinct()
    ]
    return by_distance(
        _measure(_answers(points, business, applicant_class, at), region_point(region))
    )


def next_open_at(
    point: ServicePoint, business: Business, applicant_class: str, at: datetime | None = None
) -> datetime | None:
    """The first scheduled change (a risk level, a phase or a policy version taking effect
    later) after which this point offers the business to this applicant; None when no
    scheduled change opens it."""
    moment = clock.moment(at)
    chain = point.region.path.split("/")
    changes = sorted(
        {
            *RiskAssessment.objects.filter(
                region_id=point.region_id, effective_from__gt=moment
            ).values_list("effective_from", flat=True)[:20],
            *PhaseSetting.objects.filter(
                region__code__in=chain, effective_from__gt=moment
            ).values_list("effective_from", flat=True)[:20],
            *PolicyVersion.objects.filter(effective_from__gt=moment).values_list(
                "effective_from", flat=True
            )[:20],
        }
    )
    timeline = SituationTimeline([point])
    facts = business_facts(business)
    for change in changes:
        if engine(change).decide(timeline.at(point.pk, change), facts, applicant_class).open:
            return change
    return None


def open_next(region: Region, at: datetime | None = None) -> list[tuple[ServicePoint, bool]]:
    """R2: the region's service points in the order to open them, each with whether it has an
    open window now."""
    points = list(
        ServicePoint.objects.filter(region__code__startswith=code_prefix(region.code))
        .select_related("region")
        .prefetch_related(
            Prefetch(
                "windows", queryset=Window.objects.filter(is_open=True), to_attr="open_window_list"
            )
        )
    )
    points.sort(
        key=lambda p: readiness_key(p.ppe_complete, p.service_area_m2, p.diversion_ease, p.code)
    )
    return [(p, bool(p.open_window_list)) for p in points]  # type: ignore[attr-defined]
