"""Checkpoint registration: validate, flag, and keep whereabouts data only as long as allowed."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import record, save_recorded
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.checkpoint.rules import (
    combine_plate,
    flag_texts,
    flags,
    plate_has_province,
    plate_province_code,
)
from trafficdesk.core import live
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.identity import id_digest
from trafficdesk.core.spreadsheets import make_workbook_safe, spreadsheet_safe
from trafficdesk.core.validators import (
    InvalidValue,
    mask_mobile,
    mask_name,
    mask_plate,
    mask_resident_id,
    normalise_mobile,
    parse_plate,
    parse_resident_id,
)
from trafficdesk.core.vocabulary import RiskLevel
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.regions.services import origin_risk_level


class RegistrationInvalid(Refusal):
    """The registration form has answers to correct: `errors` says why per field (in the
    traveller's language), `codes` gives each field's machine-readable reason."""

    code = "registration.invalid"
    status = 422

    def __init__(self, errors: dict[str, str], codes: dict[str, str] | None = None) -> None:
        super().__init__(_("Some answers need correcting."))
        self.errors = errors
        self.codes = codes or {}


@dataclass(frozen=True)
class OriginChoices:
    """What the province → city → county chooser offers for the answers given so far.

    Municipalities (北京, 天津, 上海, 重庆) and the 省直辖 counties hang directly under their
    province: a municipality has no city step, and a county-level division (or a city with no
    counties, such as 东莞市) chosen at the city step is itself the only county offered."""

    provinces: list[Region]
    province: Region | None = None
    cities: list[Region] = field(default_factory=list)
    city: Region | None = None
    counties: list[Region] = field(default_factory=list)
    county: Region | None = None
    suggested: bool = False
    """True when the province was taken from the plate, not chosen."""

    @property
    def has_city_step(self) -> bool:
        return bool(self.cities)


def _is_origin(region: Region, has_children: bool) -> bool:
    """A registration's origin is a county-level division, or a prefecture-level city with
    none under it (东莞市, 中山市, 儋州市, 嘉峪关市)."""
    return region.level == RegionLevel.COUNTY or (
        region.level == RegionLevel.CITY and not has_children
    )


def origin_provinces() -> list[Region]:
    """The provinces a traveller can come from: those with cities or counties in the data
    (台湾, 香港 and 澳门 have no GB/T 2260 codes below them)."""
    return list(
        Region.objects.filter(level=RegionLevel.PROVINCE, children__isnull=False)
        .distinct()
        .order_by("code")
    )


def _children(region: Region) -> list[Region]:
    return list(Region.objects.filter(parent=region).order_by("code"))


def origin_choices(
    province_code: str = "",
    city_code: str = "",
    county_code: str = "",
    plate_prefix: str = "",
    plate: str = "",
) -> OriginChoices:
    """The chooser's lists for the codes chosen so far (a code that does not fit under the
    one above it is dropped); with no province chosen, the plate's province is suggested."""
    provinces = origin_provinces()
    by_code = {p.code: p for p in provinces}
    county = Region.objects.filter(code=county_code).first() if county_code else None
    if county is not None and not province_code:
        province_code = county.path.split("/")[0]
        city_code = city_code or (county.path.split("/")[1] if "/" in county.path else "")
    suggested = False
    if not province_code:
        province_code = plate_province_code(plate_prefix, plate) or ""
        suggested = province_code in by_code
    province = by_code.get(province_code)
    if province is None:
        return OriginChoices(provinces=provinces)
    below = _children(province)
    if all(child.level == RegionLevel.COUNTY for child in below):  # a municipality
        counties = below
        county = next((c for c in counties if c.code == county_code), None)
        return OriginChoices(provinces, province, [], None, counties, county, suggested)
    city = next((c for c in below if c.code == city_code), None)
    if city is None:
        return OriginChoices(provinces, province, below, suggested=suggested)
    under_city = _children(city)
    counties = under_city or [city]
    county = next((c for c in counties if c.code == county_code), None)
    if county is None and len(counties) == 1:
        county = counties[0]
    return OriginChoices(provinces, province, below, city, counties, county, suggested)


def _origin(data: dict[str, Any]) -> tuple[Region | None, str, str]:
    """The origin county named by the answers, or why not (error code, message). The
    province and city, when sent (the page sends them), must contain the county: a
    traveller who changed the province without choosing the county again is asked to."""
    code = str(data.get("origin", "")).strip()
    if not code:
        return None, "origin.missing", _("Choose the county (district) you are coming from.")
    region = Region.objects.filter(code=code).first()
    if region is None:
        return (
            None,
            "origin.unknown",
            _("%(code)s is not a county code we know: choose your county from the list.")
            % {"code": code[:12]},
        )
    if not _is_origin(region, Region.objects.filter(parent=region).exists()):
        return (
            None,
            "origin.not_county",
            _("%(region)s is not a county: choose the county (district) within it.")
            % {"region": region.name},
        )
    for key in ("origin_province", "origin_city"):
        chosen = str(data.get(key, "")).strip()
        if chosen and chosen not in region.path.split("/"):
            return (
                None,
                "origin.changed",
                _(
                    "The county you chose is not in the province or city now selected: "
                    "choose the county again."
                ),
            )
    return region, "", ""


def _passengers(raw: Any) -> int | None:
    try:
        passengers = int(str(raw).strip() or 0)
    except (TypeError, ValueError):
        return None
    return passengers if 0 <= passengers <= 60 else None


def _validate(
    data: dict[str, Any], language: str
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(cleaned answers, messages per field, codes per field)."""
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    cleaned: dict[str, Any] = {}

    def refuse(name: str, code: str, message: str) -> None:
        errors[name], codes[name] = message, code

    name = str(data.get("name", "")).strip()
    if not 1 <= len(name) <= 40:
        refuse("name", "name.missing", _("Enter your name (up to 40 characters)."))
    cleaned["name"] = name
    plate_text = combine_plate(str(data.get("plate_prefix", "")), str(data.get("plate", "")))
    if plate_text and not plate_has_province(plate_text):
        refuse(
            "plate",
            "plate.province",
            _(
                "Choose the province abbreviation of your plate (the first character, such "
                "as 贵) and enter the rest, for example A12345."
            ),
        )
    for key, parse in (
        ("id_number", lambda v: parse_resident_id(v).number),
        ("mobile", normalise_mobile),
        ("plate", parse_plate),
    ):
        if key in errors:
            continue
        try:
            cleaned[key] = parse(plate_text if key == "plate" else str(data.get(key, "")))
        except InvalidValue as exc:
            refuse(key, exc.code, exc.message(language))
    origin, origin_code, origin_message = _origin(data)
    if origin is None:
        refuse("origin", origin_code, origin_message)
    cleaned["origin"] = origin
    destination = str(data.get("destination", "")).strip()
    if not 1 <= len(destination) <= 100:
        refuse(
            "destination",
            "destination.missing",
            _("Enter where you are going (up to 100 characters)."),
        )
    cleaned["destination"] = destination
    passengers = _passengers(data.get("passengers", 0))
    if passengers is None:
        refuse("passengers", "passengers.range", _("Passengers: a number from 0 to 60."))
    cleaned["passengers"] = passengers or 0
    return cleaned, errors, codes


def register(
    checkpoint: Checkpoint, data: dict[str, Any], language: str = "zh-hans"
) -> Registration:
    """Record a traveller's registration, flagged as the rules say; the page and the API
    both come here. The plate may come whole ("plate") or as the picker's abbreviation
    ("plate_prefix") and the rest."""
    cleaned, errors, codes = _validate(data, language)
    if errors:
        raise RegistrationInvalid(errors, codes)
    origin: Region = cleaned["origin"]
    level = origin_risk_level(origin)
    plate = cleaned["plate"]
    reasons = flags(
        plate_province_code=plate.province_code,
        origin_code=origin.code,
        origin_risk=level,
        home_province=checkpoint.region.code,
    )
    codes_found = {code for code, _zh, _en in reasons}
    with transaction.atomic():
        registration = Registration.objects.create(
            token=secrets.token_urlsafe(16),
            checkpoint=checkpoint,
            name=cleaned["name"],
            id_digest=id_digest(cleaned["id_number"]),
            id_masked=mask_resident_id(cleaned["id_number"]),
            mobile=cleaned["mobile"],
            plate=plate.number,
            origin=origin,
            destination=cleaned["destination"],
            passengers=cleaned["passengers"],
            origin_risk=level or "",
            out_of_province=bool(codes_found & {"plate.other_province", "origin.other_province"}),
            from_risk_area=bool(codes_found & {"origin.medium", "origin.high"}),
            flag_reasons=[list(r) for r in reasons],
        )
        live.publish(live.checkpoint_channel(checkpoint.pk), "arrival", {})
    return registration


CHECKPOINT_FIELDS = ("code", "name_zh", "name_en", "kind", "region", "road", "active")


def save_checkpoint(
    actor: Actor, checkpoint: Checkpoint, changed: tuple[str, ...] | list[str] = CHECKPOINT_FIELDS
) -> Checkpoint:
    """Add or change a checkpoint (an administrator of its region); audited."""
    if checkpoint.pk is not None:
        access.check(actor, Action.CHECKPOINT_EDIT, Checkpoint.objects.get(pk=checkpoint.pk))
    access.check(actor, Action.CHECKPOINT_EDIT, checkpoint)
    return save_recorded(
        actor, checkpoint, fields=CHECKPOINT_FIELDS, changed=changed, action="checkpoint"
    )


def visible_checkpoints(actor: Actor) -> QuerySet[Checkpoint]:
    """The checkpoints this officer watches (their region)."""
    return access.scope(actor, Checkpoint.objects.select_related("region"), Action.CHECKPOINT_WATCH)


def arrivals(
    actor: Actor,
    checkpoint: Checkpoint,
    *,
    plate: str = "",
    flagged_only: bool = False,
    limit: int = 200,
) -> QuerySet[Registration]:
    """The officer's list; every access is audited (whereabouts are sensitive data)."""
    access.check(actor, Action.CHECKPOINT_WATCH, checkpoint)
    found = Registration.objects.filter(checkpoint=checkpoint).select_related(
        "origin__parent__parent"
    )
    if plate:
        found = found.filter(plate__icontains=plate.strip().upper())
    if flagged_only:
        found = found.filter(Q(out_of_province=True) | Q(from_risk_area=True))
    record(
        actor,
        "checkpoint.view",
        target=checkpoint,
        summary=f"plate search {mask_plate(plate)}" if plate else "arrivals list",
    )
    return found[:limit]


def origin_label(region: Region) -> str:
    """Province, city and county names, from the top ("北京市朝阳区", "贵州省贵阳市南明区"),
    in the reader's language where an English name is known."""
    names: list[str] = []
    current: Region | None = region
    while current is not None:
        names.append(current.name)
        current = current.parent
    separator = " " if (translation.get_language() or "").startswith("en") else ""
    return separator.join(reversed(names))


def risk_label(level: str) -> str:
    """A stored risk level in words ("中风险"); "" when none was in force."""
    return str(RiskLevel(level).label) if level in RiskLevel.values else ""


def masked_row(registration: Registration) -> dict[str, Any]:
    """One arrival as staff and the traveller see it: personal data masked, every value in
    words of the reader's language (no stored code is shown)."""
    language = translation.get_language() or "zh-hans"
    separator = "; " if language.startswith("en") else "；"
    return {
        "time": timezone.localtime(registration.created_at).strftime("%Y-%m-%d %H:%M"),
        "name": mask_name(registration.name),
        "id": registration.id_masked,
        "mobile": mask_mobile(registration.mobile),
        "plate": mask_plate(registration.plate),
        "origin": origin_label(registration.origin),
        "origin_risk": risk_label(registration.origin_risk),
        "destination": registration.destination,
        "passengers": registration.passengers,
        "flags": separator.join(flag_texts(registration.flag_reasons, language)),
    }


EXPORT_COLUMNS = (
    "time",
    "name",
    "id",
    "mobile",
    "plate",
    "origin",
    "origin_risk",
    "destination",
    "passengers",
    "flags",
)
EXPORT_HEADERS: dict[str, Promise] = {
    "time": gettext_lazy("Registered at"),
    "name": gettext_lazy("Name"),
    "id": gettext_lazy("ID number"),
    "mobile": gettext_lazy("Mobile number"),
    "plate": gettext_lazy("Plate"),
    "origin": gettext_lazy("Coming from"),
    "origin_risk": gettext_lazy("Risk level where they come from"),
    "destination": gettext_lazy("Going to"),
    "passengers": gettext_lazy("Passengers"),
    "flags": gettext_lazy("Reasons to follow up"),
}


def export_headers(columns: tuple[str, ...] = EXPORT_COLUMNS) -> list[str]:
    """The export's column titles in the reader's language."""
    return [str(EXPORT_HEADERS.get(column, column)) for column in columns]


def export_rows(actor: Actor, checkpoint: Checkpoint) -> list[dict[str, Any]]:
    access.check(actor, Action.CHECKPOINT_WATCH, checkpoint)
    rows = [
        masked_row(r)
        for r in Registration.objects.filter(checkpoint=checkpoint).select_related(
            "origin__parent__parent"
        )
    ]
    record(actor, "checkpoint.export", target=checkpoint, summary=f"{len(rows)} rows (masked)")
    return rows


def as_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    csv.writer(buffer).writerow([spreadsheet_safe(h) for h in export_headers()])
    writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
    return "\ufeff" + buffer.getvalue()


def as_xlsx(
    rows: list[dict[str, Any]], columns: tuple[str, ...] = EXPORT_COLUMNS, title: str = "export"
) -> bytes:
    from openpyxl import Workbook  # local import: heavy, and only exports need it

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(export_headers(columns))
    for row in rows:
        sheet.append([spreadsheet_safe(row.get(c, "")) for c in columns])
    make_workbook_safe(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def purge_expired(now: Any = None) -> int:
    """Delete registrations older than the retention period."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHECKPOINT_RETENTION_DAYS)
    deleted, _details = Registration.objects.filter(created_at__lt=cutoff).delete()
    if deleted:
        record(
            None,
            "checkpoint.purge",
            summary=f"{deleted} registrations older than {cutoff:%Y-%m-%d} deleted",
        )
    return deleted
