"""Checkpoint registration: validate, flag, and keep whereabouts data only as long as allowed."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import record, save_recorded
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.checkpoint.rules import flags
from trafficdesk.core import live
from trafficdesk.core.actions import Action
from trafficdesk.core.identity import id_digest
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
from trafficdesk.regions.models import Region, RegionLevel
from trafficdesk.regions.services import current_levels


class RegistrationInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def register(
    checkpoint: Checkpoint, data: dict[str, Any], language: str = "zh-hans"
) -> Registration:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    name = str(data.get("name", "")).strip()
    if not 1 <= len(name) <= 40:
        errors["name"] = _("Enter your name.")
    for field, parse in (
        ("id_number", lambda v: parse_resident_id(v).number),
        ("mobile", normalise_mobile),
        ("plate", lambda v: parse_plate(v)),
    ):
        try:
            cleaned[field] = parse(str(data.get(field, "")))
        except InvalidValue as exc:
            errors[field] = exc.message(language)
    origin = Region.objects.filter(
        code=str(data.get("origin", "")), level=RegionLevel.COUNTY
    ).first()
    if origin is None:
        errors["origin"] = _("Choose the county you are coming from.")
    destination = str(data.get("destination", "")).strip()
    if not 1 <= len(destination) <= 100:
        errors["destination"] = _("Enter where you are going.")
    try:
        passengers = int(data.get("passengers", 0) or 0)
        if not 0 <= passengers <= 60:
            raise ValueError
    except (TypeError, ValueError):
        errors["passengers"] = _("Passengers: a number from 0 to 60.")
        passengers = 0
    if errors:
        raise RegistrationInvalid(errors)
    assert origin is not None
    level = current_levels([origin]).get(origin.pk)
    plate = cleaned["plate"]
    reasons = flags(
        plate_province_code=plate.province_code,
        origin_code=origin.code,
        origin_risk=level.level if level else None,
        home_province=checkpoint.region.code,
    )
    codes = {code for code, _zh, _en in reasons}
    with transaction.atomic():
        registration = Registration.objects.create(
            token=secrets.token_urlsafe(16),
            checkpoint=checkpoint,
            name=name,
            id_digest=id_digest(cleaned["id_number"]),
            id_masked=mask_resident_id(cleaned["id_number"]),
            mobile=cleaned["mobile"],
            plate=plate.number,
            origin=origin,
            destination=destination,
            passengers=passengers,
            origin_risk=level.level if level else "",
            out_of_province=bool(codes & {"plate.other_province", "origin.other_province"}),
            from_risk_area=bool(codes & {"origin.medium", "origin.high"}),
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
        "origin", "origin__parent"
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


def masked_row(registration: Registration) -> dict[str, Any]:
    return {
        "time": timezone.localtime(registration.created_at).strftime("%Y-%m-%d %H:%M"),
        "name": mask_name(registration.name),
        "id": registration.id_masked,
        "mobile": mask_mobile(registration.mobile),
        "plate": mask_plate(registration.plate),
        "origin": f"{registration.origin.parent.name_zh if registration.origin.parent else ''}{registration.origin.name_zh}",
        "origin_risk": registration.origin_risk,
        "destination": registration.destination,
        "passengers": registration.passengers,
        "flags": "；".join(zh for _code, zh, _en in registration.flag_reasons),
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


def export_rows(actor: Actor, checkpoint: Checkpoint) -> list[dict[str, Any]]:
    access.check(actor, Action.CHECKPOINT_WATCH, checkpoint)
    rows = [
        masked_row(r)
        for r in Registration.objects.filter(checkpoint=checkpoint).select_related("origin__parent")
    ]
    record(actor, "checkpoint.export", target=checkpoint, summary=f"{len(rows)} rows (masked)")
    return rows


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
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
    sheet.append(list(columns))
    for row in rows:
        sheet.append([spreadsheet_safe(row.get(c, "")) for c in columns])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"
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
