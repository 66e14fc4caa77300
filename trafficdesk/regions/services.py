"""Region reference data and county risk levels. Each public function is one transaction."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import record
from trafficdesk.core import clock, provinces
from trafficdesk.core.actions import Action
from trafficdesk.core.localcache import clear_all
from trafficdesk.core.locking import locking_transaction
from trafficdesk.regions.models import CountyRisk, Region, RegionLevel, RiskAssessment
from trafficdesk.regions.rules import parse_risk_level

DIVISIONS_CSV = Path(__file__).parent / "data" / "divisions.csv"

risk_level_changed = Signal()
"""Sent with `assessment` inside the transaction that records a county's risk level, so that
subscribers' writes commit or roll back with it (use on_commit for work after the commit)."""


class InvalidRegionChange(ValueError):
    pass


class InvalidRiskChange(InvalidRegionChange):
    pass


_LEVEL_RANK = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.COUNTY: 2}


def _division_rows(source: Path, prefix: str = "") -> list[dict[str, str]]:
    """The packaged divisions whose code starts with `prefix`, parents before children."""
    with source.open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["code"].startswith(prefix)]
    rows.sort(key=lambda row: (_LEVEL_RANK[RegionLevel(row["level"])], row["code"]))
    return rows


def _store_divisions(rows: list[dict[str, str]], prefix: str = "") -> int:
    """Create the missing regions and correct the changed ones, level by level and in bulk
    (the whole country is 3,214 rows): a few statements, not one per row. English names,
    which the file does not carry, are left as they are. Bulk writes send no signals, so the
    process-local caches that a region's save would clear are cleared here."""
    known = {r.code: r for r in Region.objects.filter(code__startswith=prefix)}
    touched = 0
    for rank in sorted(set(_LEVEL_RANK.values())):
        new: list[Region] = []
        changed: list[Region] = []
        for row in rows:
            if _LEVEL_RANK[RegionLevel(row["level"])] != rank:
                continue
            parent = known.get(row["parent_code"]) if row["parent_code"] else None
            region = known.get(row["code"])
            if region is None:
                region = Region(code=row["code"], name_zh=row["name"], level=row["level"])
                region.parent = parent
                region.path = region.compute_path()
                new.append(region)
                continue
            path = f"{parent.path}/{region.code}" if parent else region.code
            wanted = (row["name"], row["level"], parent.pk if parent else None, path)
            if (region.name_zh, region.level, region.parent_id, region.path) != wanted:
                region.name_zh, region.level, region.parent = row["name"], row["level"], parent
                region.path = path
                changed.append(region)
        for region in Region.objects.bulk_create(new, batch_size=500):
            known[region.code] = region
        if not all(region.pk for region in new):  # a backend that returns no ids
            known.update({r.code: r for r in Region.objects.filter(code__startswith=prefix)})
        Region.objects.bulk_update(changed, ["name_zh", "level", "parent", "path"], batch_size=500)
        touched += len(new) + len(changed)
    if touched:
        clear_all()
    return len(rows)


@transaction.atomic
def load_divisions(province_code: str, source: Path = DIVISIONS_CSV) -> int:
    """Load (or update) one province and everything under it from the packaged data file."""
    prefix = province_code[:2]
    rows = _division_rows(source, prefix)
    if not rows:
        raise ValueError(f"no divisions with code prefix {prefix} in {source.name}")
    return _store_divisions(rows, prefix)


@transaction.atomic
def load_country(source: Path = DIVISIONS_CSV) -> int:
    """Load (or update) every province, city and county of China from the packaged data file:
    a traveller at a checkpoint may come from anywhere (R10), whichever province the
    platform serves."""
    rows = _division_rows(source)
    if not rows:
        raise ValueError(f"no divisions in {source.name}")
    return _store_divisions(rows)


def risk_change_problem(actor: Actor, region: Region) -> str | None:
    """Why `actor` may not set this region's risk level, or None when they may."""
    why = access.why_not(actor, Action.RISK_SET, region)
    if why is not None:
        return why
    if region.level != RegionLevel.COUNTY:
        return _("Risk levels are set per county; %(region)s is a %(level)s.") % {
            "region": str(region),
            "level": region.get_level_display(),
        }
    return None


def _as_county(region: Region) -> None:
    if region.level != RegionLevel.COUNTY:
        raise InvalidRiskChange(
            _("Risk levels are set per county; %(region)s is a %(level)s.")
            % {"region": str(region), "level": region.get_level_display()}
        )


def set_risk_level(
    actor: Actor,
    region: Region,
    level: str,
    *,
    reason: str,
    effective_from: datetime | None = None,
) -> RiskAssessment:
    """Record a county's risk level from `effective_from` on (now by default).

    Permission is checked before the transaction opens, so that the audit entry of a
    refusal is kept."""
    access.check(actor, Action.RISK_SET, region)
    _as_county(region)
    level = parse_risk_level(level)
    if not reason.strip():
        raise InvalidRiskChange(_("Give a reason for the change."))
    with locking_transaction():
        assessment = RiskAssessment.objects.create(
            region=region,
            level=level,
            effective_from=clock.moment(effective_from),
            author=access.as_user(actor),
            reason=reason.strip(),
        )
        record(
            actor,
            "risk.set",
            target=region,
            summary=f"{region.code} → {level} from {assessment.effective_from.isoformat()}",
            detail={"level": level, "reason": assessment.reason, "assessment": assessment.pk},
        )
        risk_level_changed.send(sender=RiskAssessment, assessment=assessment)
    return assessment


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


CSV_COLUMNS = ("code", "level", "effective_from", "reason")


def _parse_moment(raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return timezone.now()
    moment = parse_datetime(raw)
    if moment is None:
        day = parse_date(raw)
        if day is None:
            return None
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _validate_rows(
    actor: Actor, rows: Iterable[dict[str, str]], counties: dict[str, Region]
) -> tuple[list[tuple[Region, str, datetime, str]], list[RowError]]:
    valid: list[tuple[Region, str, datetime, str]] = []
    errors: list[RowError] = []
    seen: set[tuple[str, datetime]] = set()
    for line, row in enumerate(rows, start=2):
        code = (row.get("code") or "").strip()
        region = counties.get(code)
        if region is None:
            errors.append(
                RowError(line, _("%(code)s is not a known county code.") % {"code": code or "''"})
            )
            continue
        if not access.allows(actor, Action.RISK_SET, region):
            errors.append(
                RowError(line, _("%(code)s is outside your region of authority.") % {"code": code})
            )
            continue
        try:
            level = parse_risk_level(row.get("level") or "")
        except ValueError:
            errors.append(
                RowError(
                    line,
                    _("Unknown risk level %(level)r; write low, medium or high.")
                    % {"level": row.get("level")},
                )
            )
            continue
        moment = _parse_moment(row.get("effective_from") or "")
        if moment is None:
            errors.append(
                RowError(
                    line,
                    _("%(value)r is not a date or date-time.")
                    % {"value": row.get("effective_from")},
                )
            )
            continue
        reason = (row.get("reason") or "").strip()
        if not reason:
            errors.append(RowError(line, _("The reason is missing.")))
            continue
        if (code, moment) in seen:
            errors.append(
                RowError(line, _("%(code)s appears twice for the same moment.") % {"code": code})
            )
            continue
        seen.add((code, moment))
        valid.append((region, level, moment, reason))
    return valid, errors


#: The Chinese column names an administrator may write instead of the English ones.
HEADER_ALIASES = {
    "区县代码": "code",
    "风险等级": "level",
    "生效时间": "effective_from",
    "原因": "reason",
}


def import_risk_levels_csv(actor: Actor, content: bytes | str) -> ImportResult:
    """Import county risk levels from CSV (code,level,effective_from,reason). All rows or none."""
    access.check(actor, Action.RISK_IMPORT)
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    header = [HEADER_ALIASES.get(name.strip(), name.strip()) for name in (reader.fieldnames or [])]
    missing = [name for name in ("code", "level", "reason") if name not in header]
    if missing:
        return ImportResult(
            errors=[RowError(1, _("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)})]
        )
    reader.fieldnames = header
    counties = {r.code: r for r in Region.objects.filter(level=RegionLevel.COUNTY)}
    try:
        rows = list(reader)
    except csv.Error as exc:
        return ImportResult(errors=[RowError(reader.line_num, str(exc))])
    valid, errors = _validate_rows(actor, rows, counties)
    if errors:
        record(actor, "risk.import", summary=f"refused: {len(errors)} bad rows", outcome="failed")
        return ImportResult(errors=errors)
    if not valid:
        return ImportResult(errors=[RowError(1, _("The file has no rows."))])
    with locking_transaction():
        for region, level, moment, reason in valid:
            set_risk_level(actor, region, level, reason=reason, effective_from=moment)
        record(actor, "risk.import", summary=f"imported {len(valid)} rows")
    return ImportResult(imported=len(valid))


def current_levels(
    regions: Iterable[Region], at: datetime | None = None
) -> dict[int, RiskAssessment]:
    """The assessment in force for each region, in one query."""
    moment = clock.moment(at)
    ids = [r.pk for r in regions]
    latest: dict[int, RiskAssessment] = {}
    for assessment in RiskAssessment.objects.filter(
        region_id__in=ids, effective_from__lte=moment
    ).order_by("region_id", "-effective_from", "-id"):
        latest.setdefault(assessment.region_id, assessment)
    return latest


def counties_for(actor: Actor, action: Action) -> QuerySet[Region]:
    """The counties in which `actor` may do `action` (for choosers)."""
    return access.scope(actor, Region.objects.filter(level=RegionLevel.COUNTY), action)


def regions_for(actor: Actor, action: Action) -> QuerySet[Region]:
    """Every region (province, city, county) in which `actor` may do `action`."""
    return access.scope(actor, Region.objects.all(), action)


def rename_region(actor: Actor, region: Region, name_zh: str, name_en: str) -> Region:
    """Correct a region's names (its code, level and place are the standard's)."""
    access.check(actor, Action.REGION_EDIT, region)
    if not name_zh.strip():
        raise InvalidRegionChange(_("A region needs its Chinese name."))
    with locking_transaction():
        Region.objects.filter(pk=region.pk).update(name_zh=name_zh.strip(), name_en=name_en.strip())
        record(actor, "region.rename", target=region, summary=f"{region.code} {name_zh}")
    region.refresh_from_db()
    return region


def origin_risk_level(region: Region, at: datetime | None = None) -> str | None:
    """The risk level in force in `region` (where an arrival comes from, for the checkpoint
    rules): this province's own assessments, or, for another province's county, the level
    that province published nationally (`CountyRisk`, replicated to this node); None when
    none is known."""
    if provinces.is_local(region.code):
        assessment = current_levels([region], at).get(region.pk)
        return assessment.level if assessment else None
    row = CountyRisk.objects.filter(county_code=region.code).first()
    return row.level if row else None
