"""Online applications, the clerk review queue, telephone filing, mailing and tracking (R7)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.accounts.models import User
from trafficdesk.accounts.services import citizen_for
from trafficdesk.audit.services import record
from trafficdesk.catalog.models import Business
from trafficdesk.core import uploads
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.validators import (
    InvalidValue,
    mask_mobile,
    mask_plate,
    mask_resident_id,
    normalise_mobile,
    parse_licence_classes,
    parse_plate,
    parse_resident_id,
)
from trafficdesk.core.vocabulary import EnterpriseStatus
from trafficdesk.enterprises.models import Enterprise
from trafficdesk.notify.services import queue_sms
from trafficdesk.online import rules
from trafficdesk.online.carriers import adapter_for
from trafficdesk.online.models import (
    ApplicationEvent,
    Attachment,
    Channel,
    OnlineApplication,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from trafficdesk.online.rules import FieldKind, Status
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint


class ApplicationError(Refusal):
    """A refused application or step. `errors`: field → message in the request's language;
    `codes`: field → stable code ("reason.unknown", "licence.class"…) for the API and tests."""

    code = "application.invalid"
    status = 422

    def __init__(
        self,
        message: str,
        errors: dict[str, str] | None = None,
        codes: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.errors = errors or {}
        self.codes = codes or {}


class StepRefused(ApplicationError):
    """A step the flow does not allow from where the application is."""

    code = "application.step"
    status = 409


def _licence_classes(raw: Any) -> str:
    """Picked classes (a list from the page's checkboxes or the API, or "A2,D" / "A2D")."""
    text = ",".join(str(v) for v in raw) if isinstance(raw, list | tuple) else str(raw or "")
    if not text.strip():
        raise InvalidValue("licence.missing", "请选择准驾车型", "choose at least one licence class")
    return "".join(parse_licence_classes(text))


def _reason(business_code: str, raw: str) -> str:
    allowed = {r.value for r in rules.reasons_for(business_code)}
    if raw in allowed:
        return raw
    if not raw:
        raise InvalidValue("reason.missing", "请选择申请原因", "choose a reason")
    raise InvalidValue(
        "reason.unknown", "请从列表中选择申请原因", "choose one of the reasons in the list"
    )


def _validate_value(kind: FieldKind, raw: Any, business_code: str = "") -> str:
    if kind == FieldKind.LICENCE_CLASSES:
        return _licence_classes(raw)
    value = (str(raw) if raw is not None else "").strip()
    if kind == FieldKind.REASON:
        return _reason(business_code, value)
    if kind == FieldKind.RESIDENT_ID:
        return parse_resident_id(value).number
    if kind == FieldKind.PLATE:
        return parse_plate(value).number
    if kind == FieldKind.MOBILE:
        return normalise_mobile(value)
    if kind == FieldKind.VIN:
        vin = value.upper()
        if len(vin) != 17 or not vin.isalnum() or set(vin) & {"I", "O", "Q"}:
            raise InvalidValue(
                "vin.format",
                "车辆识别代号应为17位字母数字（不含I、O、Q）",
                "a VIN has 17 letters and digits, without I, O or Q",
            )
        return vin
    if not value or len(value) > 200:
        raise InvalidValue(
            "text.length", "请填写（不超过200字）", "fill this in (at most 200 characters)"
        )
    return value


def _blank(raw: Any) -> bool:
    return not raw or (isinstance(raw, str) and not raw.strip())


def validate_form(
    business: Business,
    data: dict[str, Any],
    language: str | None = None,
    *,
    owner: str | None = None,
) -> dict[str, str]:
    """The cleaned form, or ApplicationError with a message (in `language`, by default the
    request's) and a code for each bad field. `owner`: the vehicle's owner is an enterprise
    (its verified credit code), not a person. Reasons and licence classes must be values of
    their pickers (rules.reasons_for, LICENCE_CLASSES), for the pages and the API alike."""
    language = language or get_language() or "zh-hans"
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    for spec in rules.form_for(business.code):
        if owner is not None and spec is rules.OWNER_ID:
            cleaned[spec.name] = owner
            continue
        raw = data.get(spec.name, "")
        if _blank(raw) and not spec.required:
            continue
        try:
            cleaned[spec.name] = _validate_value(spec.kind, raw, business.code)
        except InvalidValue as exc:
            errors[spec.name] = exc.message(language)
            codes[spec.name] = exc.code
    if errors:
        raise ApplicationError(_("Some fields are not valid."), errors, codes)
    return cleaned


def shown_value(spec: rules.FieldSpec, value: str) -> str:
    """A stored form value as the applicant reads it: personal data masked, pickers' values
    by their labels."""
    if spec.kind == FieldKind.RESIDENT_ID:
        return mask_resident_id(value)
    if spec.kind == FieldKind.PLATE:
        return mask_plate(value)
    if spec.kind == FieldKind.MOBILE:
        return mask_mobile(value)
    if spec.kind == FieldKind.LICENCE_CLASSES:
        return rules.licence_classes_label(value)
    if spec.kind == FieldKind.REASON:
        return rules.reason_label(value)
    return value


def masked_form(application: OnlineApplication) -> list[tuple[str, str]]:
    """The form for display: (field label, value), personal data masked."""
    return [
        (str(spec.label), shown_value(spec, str(application.form_data.get(spec.name, ""))))
        for spec in rules.form_for(application.business.code)
        if spec.name in application.form_data
    ]


def _reference() -> str:
    return f"WS{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def _event(
    application: OnlineApplication, before: str, actor: Any, note: str = ""
) -> ApplicationEvent:
    """Record a step with its notice, written to the outbox in the step's transaction (sent
    after the commit, never if the step rolls back)."""
    label = actor.get_username() if hasattr(actor, "get_username") else str(actor)
    text = notice_text(application, note)
    mobile = application.delivery_mobile or application.applicant.mobile
    notice = None
    if mobile:
        kind = f"online.{application.status}"
        notice = queue_sms(mobile, text, kind=kind, region_id=application.region_id)
    return ApplicationEvent.objects.create(
        application=application,
        from_status=before,
        to_status=application.status,
        actor_label=label,
        note=note[:300],
        notice=notice,
    )


def notice_text(application: OnlineApplication, note: str = "") -> str:
    """The SMS for a step, in Chinese (the language of every SMS the service sends)."""
    with translation.override("zh-hans"):
        status = rules.status_label(application.status)
        if note:
            return _("[Traffic police] Your online application %(ref)s: %(status)s (%(note)s).") % {
                "ref": application.reference,
                "status": status,
                "note": note,
            }
        return _("[Traffic police] Your online application %(ref)s: %(status)s.") % {
            "ref": application.reference,
            "status": status,
        }


def read_attachment(upload: Any) -> tuple[str, bytes]:
    """An uploaded attachment's name and content, read within the size limit (a larger file
    is refused, as ApplicationError, without being read into memory)."""
    name = upload.name or "file"
    try:
        return name, uploads.read_limited(upload)
    except uploads.UploadRefused as refused:
        raise ApplicationError(str(refused), {"files": name}) from None


def check_upload(name: str, content: bytes) -> str:
    """The attachment's type, or ApplicationError saying why it is refused."""
    try:
        return uploads.accepted_type(content)
    except uploads.UploadRefused as refused:
        raise ApplicationError(str(refused), {"files": name}) from None


def _delivery(business: Business, applicant: User, address: str, mobile: str) -> tuple[str, str]:
    """Where a mailed document goes: the address and the recipient's mobile (by default the
    applicant's), or ApplicationError naming the field. Nothing is mailed: both empty."""
    if not business.deliverable:
        return "", ""
    address, mobile = (address or "").strip(), (mobile or "").strip()
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    if len(address) < 6 or len(address) > 200:
        errors["delivery_address"] = _(
            "Give the full address to mail the document to (6 to 200 characters)."
        )
        codes["delivery_address"] = "address.length"
    try:
        mobile = normalise_mobile(mobile or (applicant.mobile or ""))
    except InvalidValue as exc:
        errors["delivery_mobile"] = _("Give the recipient's mobile number.")
        codes["delivery_mobile"] = exc.code
    if errors:
        raise ApplicationError(_("Some fields are not valid."), errors, codes)
    return address, mobile


def _checked(
    business: Business,
    applicant: User,
    data: dict[str, Any],
    address: str,
    mobile: str,
    enterprise: Enterprise | None,
) -> tuple[dict[str, str], str, str]:
    """The form and the delivery, every bad field reported at once."""
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    try:
        cleaned = validate_form(business, data, owner=enterprise.uscc if enterprise else None)
    except ApplicationError as bad:
        errors, codes = dict(bad.errors), dict(bad.codes)
    try:
        address, mobile = _delivery(business, applicant, address, mobile)
    except ApplicationError as bad:
        errors.update(bad.errors)
        codes.update(bad.codes)
    if errors:
        raise ApplicationError(_("Some fields are not valid."), errors, codes)
    return cleaned, address, mobile


def centre_region(form: dict[str, str], enterprise: Enterprise | None = None) -> Region | None:
    """The region whose online centre answers an application: the enterprise's for its
    fleet; else the applicant's county, city or province (from the resident ID number), the
    nearest that has a service point; else the one province served here (None when there
    are several: then a system administrator routes it)."""
    if enterprise is not None and enterprise.region_id is not None:
        return enterprise.region
    for code in rules.centre_codes(form):
        region = Region.objects.filter(code=code).first()
        if region is not None and ServicePoint.objects.filter(region.subtree_q("region")).exists():
            return region
    served = {p.split("/")[0] for p in ServicePoint.objects.values_list("region__path", flat=True)}
    provinces = list(Region.objects.filter(code__in=served)[:2])
    return provinces[0] if len(provinces) == 1 else None


def submit(
    applicant: User,
    business: Business,
    data: dict[str, Any],
    *,
    delivery_address: str = "",
    delivery_mobile: str = "",
    filed_by: Any = None,
    enterprise: Enterprise | None = None,
) -> OnlineApplication:
    """A citizen applies (or a clerk files for a caller: channel 'phone'; or an agent for a
    vehicle of its enterprise's fleet: `enterprise`, see `submit_for_fleet`)."""
    if filed_by is None:
        access.check(applicant, Action.ONLINE_APPLY)
    if not business.online or not business.active:
        raise ApplicationError(_("This business cannot be done online."))
    cleaned, address, mobile = _checked(
        business, applicant, data, delivery_address, delivery_mobile, enterprise
    )
    now = timezone.now()
    with locking_transaction():
        application = OnlineApplication.objects.create(
            reference=_reference(),
            business=business,
            applicant=applicant,
            channel=Channel.PHONE if filed_by else Channel.INTERNET,
            filed_by=filed_by,
            form_data=cleaned,
            region=centre_region(cleaned, enterprise),
            enterprise=enterprise,
            delivery_address=address,
            delivery_mobile=mobile,
            submitted_at=now,
            sla_due_at=now + timedelta(hours=settings.ONLINE_SLA_HOURS),
        )
        _event(application, "", filed_by or applicant, _("filed by telephone") if filed_by else "")
        if filed_by is not None:
            record(
                filed_by, "online.phone_filing", target=application, summary=application.reference
            )
    return application


MAX_FLEET_ROWS = 50


def submit_for_fleet(
    agent: User,
    enterprise: Enterprise,
    business: Business,
    rows: list[dict[str, Any]],
    delivery_address: str = "",
    delivery_mobile: str = "",
) -> list[OnlineApplication]:
    """An agent applies for several vehicles of the enterprise at once (temporary plates for
    ten new lorries): one application per row, the enterprise as the owner, all or nothing.
    Every row is checked before anything is written; the errors name the row and field."""
    access.check(agent, Action.ENTERPRISE_ACT, enterprise)
    if enterprise.status != EnterpriseStatus.VERIFIED:
        raise ApplicationError(_("The enterprise must be verified before it applies online."))
    if rules.OWNER_ID not in rules.form_for(business.code):
        raise ApplicationError(_("This business is not for a vehicle; apply for it yourself."))
    if not rows or len(rows) > MAX_FLEET_ROWS:
        raise ApplicationError(_("Give one to 50 vehicles, one per line."), {"rows": ""})
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    for i, row in enumerate(rows, start=1):
        try:
            validate_form(business, row, owner=enterprise.uscc)
        except ApplicationError as bad:
            errors.update({f"rows[{i}].{name}": text for name, text in bad.errors.items()})
            codes.update({f"rows[{i}].{name}": code for name, code in bad.codes.items()})
    if errors:
        raise ApplicationError(_("Some vehicles are not valid."), errors, codes)
    with locking_transaction():
        filed = [
            submit(
                agent,
                business,
                row,
                enterprise=enterprise,
                delivery_address=delivery_address,
                delivery_mobile=delivery_mobile,
            )
            for row in rows
        ]
        record(
            agent,
            "online.fleet_filing",
            target=enterprise,
            summary=f"{business.code} × {len(filed)}",
        )
    return filed


def fleet_applications(agent: User, enterprise: Enterprise) -> QuerySet[OnlineApplication]:
    """The enterprise's online applications and their shipments, for its agents."""
    access.check(agent, Action.ENTERPRISE_ACT, enterprise)
    return (
        OnlineApplication.objects.filter(enterprise=enterprise)
        .select_related("business", "shipment")
        .order_by("-submitted_at")
    )


def submit_with_files(
    applicant: User,
    business: Business,
    data: dict[str, Any],
    files: list[tuple[str, bytes]],
    delivery_address: str = "",
    delivery_mobile: str = "",
) -> OnlineApplication:
    """An application with its photos or scans, all or nothing: every file is checked by
    content before anything is written."""
    access.check(applicant, Action.ONLINE_APPLY)
    if len(files) > rules.MAX_ATTACHMENTS:
        raise ApplicationError(_("At most 10 files per application."))
    for name, content in files:
        check_upload(name, content)
    with locking_transaction():
        application = submit(
            applicant,
            business,
            data,
            delivery_address=delivery_address,
            delivery_mobile=delivery_mobile,
        )
        for name, content in files:
            add_attachment(applicant, application, name, content)
    return application


def file_by_phone(
    clerk: Actor,
    caller_mobile: str,
    business: Business,
    data: dict[str, Any],
    delivery_address: str = "",
    delivery_mobile: str = "",
) -> OnlineApplication:
    access.check(clerk, Action.ONLINE_PHONE_FILING)
    try:
        mobile = normalise_mobile(caller_mobile)
    except InvalidValue as exc:
        raise ApplicationError(
            _("Some fields are not valid."),
            {"caller_mobile": exc.message(get_language())},
            {"caller_mobile": exc.code},
        ) from exc
    applicant = citizen_for(mobile)
    if not access.allows(applicant, Action.SMS_LOGIN):
        raise ApplicationError(_("That number belongs to a staff account."))
    return submit(
        applicant,
        business,
        data,
        filed_by=clerk,
        delivery_address=delivery_address,
        delivery_mobile=delivery_mobile,
    )


def move(
    actor: Any, application: OnlineApplication, target: str, *, note: str = ""
) -> OnlineApplication:
    """One step of the flow, checked against the transition table and the actor's role."""
    before = application.status
    if not rules.allowed(before, target, mailed=application.mailed):
        raise StepRefused(
            _("An application that is %(now)s cannot become %(next)s.")
            % {"now": rules.status_label(before), "next": rules.status_label(target)}
        )
    if (Status(before), Status(target)) in rules.CITIZEN_MOVES:
        access.check(actor, Action.ONLINE_RESUBMIT, application)
    else:
        access.check(actor, Action.ONLINE_REVIEW, application)
    if target in (Status.REJECTED, Status.NEEDS_MORE) and not note.strip():
        raise ApplicationError(_("Say why, so that the applicant knows what to do."))
    with locking_transaction():
        changed = OnlineApplication.objects.filter(pk=application.pk, status=before).update(
            status=target,
            note=note[:300] if note else application.note,
            reviewer=actor if target == Status.UNDER_REVIEW else application.reviewer,
            sla_due_at=(timezone.now() + timedelta(hours=settings.ONLINE_SLA_HOURS))
            if target == Status.SUBMITTED
            else application.sla_due_at,
        )
        if changed != 1:
            raise StepRefused(_("Someone else changed this application; reload it."))
        application.refresh_from_db()
        _event(application, before, actor, note)
        if actor.pk != application.applicant_id:
            record(
                actor,
                f"online.{target}",
                target=application,
                summary=f"{application.reference} {before}→{target}",
            )
    return application


def add_attachment(
    actor: Actor, application: OnlineApplication, name: str, content: bytes
) -> Attachment:
    """A photo or scan, added by the applicant (or by the online centre)."""
    if not access.allows(actor, Action.ONLINE_RESUBMIT, application):
        access.check(actor, Action.ONLINE_REVIEW, application)
    kind = check_upload(name, content)
    if application.attachments.count() >= rules.MAX_ATTACHMENTS:
        raise ApplicationError(_("At most 10 files per application."))
    attachment = Attachment(
        application=application,
        content_type=kind,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=name[:120],
    )
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[kind]
    attachment.file.save(f"{secrets.token_hex(12)}.{extension}", ContentFile(content), save=False)
    attachment.save()
    return attachment


# --- mailing and tracking --------------------------------------------------------------------


def resubmit(
    applicant: Actor, application: OnlineApplication, files: list[tuple[str, bytes]]
) -> OnlineApplication:
    """The applicant adds what was asked for and sends the application back for review, all
    or nothing (files checked by content first)."""
    access.check(applicant, Action.ONLINE_RESUBMIT, application)
    if len(files) > rules.MAX_ATTACHMENTS:
        raise ApplicationError(_("At most 10 files per application."))
    for name, content in files:
        check_upload(name, content)
    with locking_transaction():
        for name, content in files:
            add_attachment(applicant, application, name, content)
        return move(applicant, application, Status.SUBMITTED)


def withdraw(applicant: Actor, application: OnlineApplication) -> OnlineApplication:
    """The applicant withdraws the application (before the review starts, or instead of
    sending what was asked for)."""
    if not rules.can_withdraw(application.status):
        raise StepRefused(
            _(
                "The review has started, so the application can no longer be withdrawn; "
                "wait for its answer."
            )
        )
    return move(applicant, application, Status.WITHDRAWN)


def ship(actor: Actor, application: OnlineApplication, carrier: str, waybill: str) -> Shipment:
    access.check(actor, Action.ONLINE_REVIEW, application)
    if not application.mailed:
        raise ApplicationError(_("Nothing is mailed for this business."))
    if not carrier.strip() or not waybill.strip():
        raise ApplicationError(_("Give the carrier and the waybill number."))
    with locking_transaction():
        move(actor, application, Status.SHIPPED, note=f"{carrier} {waybill}")
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(
                    application=application, carrier=carrier.strip(), waybill=waybill.strip()
                )
        except IntegrityError as exc:
            raise ApplicationError(_("This waybill number is already in use.")) from exc
        TrackingEvent.objects.create(
            shipment=shipment,
            at=timezone.now(),
            status=ShipmentStatus.CREATED,
            source="staff",
        )
    return shipment


def add_tracking(
    shipment: Shipment,
    *,
    status: str,
    at: datetime,
    location: str = "",
    description: str = "",
    source: str,
    external_id: str | None = None,
    actor: Any = None,
) -> TrackingEvent:
    """A carrier event, entered by staff or received by the webhook. DELIVERED closes the flow."""
    if actor is not None:
        access.check(actor, Action.ONLINE_REVIEW, shipment.application)
    if status not in ShipmentStatus.values:
        raise ApplicationError(_("Unknown shipment status."))
    with locking_transaction():
        event = TrackingEvent.objects.create(
            shipment=shipment,
            status=status,
            at=at,
            location=location[:80],
            description=description[:200],
            source=source,
            external_id=external_id,
        )
        Shipment.objects.filter(pk=shipment.pk).update(status=status)
        application = shipment.application
        if (
            status == ShipmentStatus.DELIVERED
            and OnlineApplication.objects.filter(pk=application.pk, status=Status.SHIPPED).update(
                status=Status.DELIVERED
            )
            == 1
        ):
            application.refresh_from_db()
            _event(application, Status.SHIPPED, actor or f"carrier:{shipment.carrier}", location)
    return event


def track_by_staff(
    actor: Actor,
    application: OnlineApplication,
    *,
    status: str,
    location: str = "",
    description: str = "",
) -> TrackingEvent:
    """A tracking event entered by the online centre (from the carrier's own site)."""
    shipment = Shipment.objects.filter(application=application).first()
    if shipment is None:
        raise ApplicationError(_("Nothing has been mailed yet."))
    return add_tracking(
        shipment,
        status=status,
        at=timezone.now(),
        location=location,
        description=description,
        source="staff",
        actor=actor,
    )


class WebhookRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def receive_carrier_event(
    carrier: str, timestamp: str, given_signature: str, body: bytes
) -> TrackingEvent:
    """A signed carrier webhook. Refuses unknown carriers, bad signatures, stale timestamps
    (replays of old messages) and events already received (replays of the same event)."""
    secret = settings.CARRIER_WEBHOOK_SECRETS.get(carrier)
    if not secret:
        raise WebhookRefused(404, "unknown carrier")
    if not hmac.compare_digest(signature(secret, timestamp, body), given_signature or ""):
        raise WebhookRefused(401, "bad signature")
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), tz=timezone.get_current_timezone())
    except (ValueError, OverflowError, OSError):
        raise WebhookRefused(400, "bad timestamp") from None
    if abs((timezone.now() - sent_at).total_seconds()) > settings.CARRIER_WEBHOOK_MAX_SKEW_SECONDS:
        raise WebhookRefused(401, "stale timestamp")
    try:
        event = adapter_for(carrier).parse(body)
        shipment = Shipment.objects.select_related(
            "application__business", "application__applicant"
        ).get(carrier=carrier, waybill=event.waybill)
        return add_tracking(
            shipment,
            status=event.status,
            at=event.at,
            location=event.location,
            description=event.description,
            source=f"webhook:{carrier}",
            external_id=f"{carrier}:{event.event_id}",
        )
    except Shipment.DoesNotExist:
        raise WebhookRefused(404, "unknown waybill") from None
    except IntegrityError:
        raise WebhookRefused(409, "event already received") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise WebhookRefused(400, f"bad event: {exc}") from None


def visible_to(actor: Actor, application: OnlineApplication) -> bool:
    return access.allows(actor, Action.ONLINE_VIEW, application)


def can_file_by_phone(actor: Actor) -> bool:
    """Whether `actor` files applications for callers (for showing the link)."""
    return access.allows(actor, Action.ONLINE_PHONE_FILING)


def is_reviewer(actor: Actor) -> bool:
    """Whether `actor` works the online centre's queue (for showing the review actions)."""
    return access.allows(actor, Action.ONLINE_REVIEW)


def review_queue(actor: Actor) -> QuerySet[OnlineApplication]:
    """Open applications, most urgent first (the online centre's queue)."""
    access.check(actor, Action.ONLINE_REVIEW)
    open_ones = OnlineApplication.objects.exclude(status__in=sorted(rules.CLOSED))
    return (
        access.scope(actor, open_ones, Action.ONLINE_REVIEW)
        .select_related("business")
        .order_by("sla_due_at")
    )
