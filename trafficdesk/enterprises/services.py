"""Enterprise operations, each one transaction: register, join and approve agents, verify,
grant and revoke priority classes, keep the fleet. Every refusal is an EnterpriseRefused
naming the field at fault and saying why; every change is in the audit log."""

from __future__ import annotations

from datetime import date

from django.core.files.base import ContentFile
from django.db import IntegrityError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.accounts.models import User
from trafficdesk.audit.services import record
from trafficdesk.core import uploads
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.validators import (
    InvalidValue,
    normalise_mobile,
    parse_plate,
    parse_uscc,
)
from trafficdesk.core.vocabulary import (
    DEFAULT_CLASS,
    AgentStatus,
    EnterpriseStatus,
    VehicleUse,
    parse_class,
)
from trafficdesk.enterprises.models import Agent, Enterprise, Grant, Vehicle
from trafficdesk.regions.models import Region


class EnterpriseRefused(Refusal):
    """Refused, with the field at fault ('' for none) and the reason in plain words: a 422
    naming the field when the input is wrong, else a 409."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(message, code)
        self.field = field
        self.status = 422 if field else 409


def _invalid(field: str, exc: InvalidValue) -> EnterpriseRefused:
    return EnterpriseRefused(exc.code, exc.message(_language()), field)


def _language() -> str:
    return get_language() or ""


def _text(field: str, value: str, limit: int, label: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise EnterpriseRefused("field.required", _("Fill in %(field)s.") % {"field": label}, field)
    if len(cleaned) > limit:
        raise EnterpriseRefused(
            "field.long",
            _("%(field)s is longer than %(limit)d characters.") % {"field": label, "limit": limit},
            field,
        )
    return cleaned


def _region_of_code(uscc: str) -> Region:
    """The region a code was registered in (positions 3-8, a GB/T 2260 code): the county,
    else its city, else its province, as far as they are known here."""
    division = uscc[2:8]
    for code in (division, division[:4] + "00", division[:2] + "0000"):
        region = Region.objects.filter(code=code).first()
        if region is not None:
            return region
    raise EnterpriseRefused(
        "uscc.region",
        _(
            "This code was registered outside the regions served here; register where it was issued."
        ),
        "uscc",
    )


def register(
    user: User,
    *,
    uscc: str,
    name: str,
    address: str,
    contact_name: str,
    contact_mobile: str,
    document_name: str,
    document: bytes,
) -> Enterprise:
    """A citizen registers an enterprise with its business licence; they become its first
    agent, who approves the others. It waits for verification."""
    access.check(user, Action.ENTERPRISE_REGISTER)
    try:
        code = parse_uscc(uscc)
    except InvalidValue as exc:
        raise _invalid("uscc", exc) from None
    try:
        mobile = normalise_mobile(contact_mobile)
    except InvalidValue as exc:
        raise _invalid("contact_mobile", exc) from None
    try:
        kind = uploads.accepted_type(document)
    except uploads.UploadRefused as refused:
        raise EnterpriseRefused("document.type", str(refused), "document") from None
    enterprise = Enterprise(
        uscc=code,
        name=_text("name", name, 100, _("the name")),
        address=_text("address", address, 200, _("the address")),
        contact_name=_text("contact_name", contact_name, 50, _("the contact person")),
        contact_mobile=mobile,
        region=_region_of_code(code),
        document_type=kind,
    )
    if Enterprise.objects.filter(uscc=code).exists():
        raise _already_registered()
    enterprise.document.save(f"{code}.{kind.rsplit('/', 1)[1]}", ContentFile(document), save=False)
    try:
        with locking_transaction():
            enterprise.save()
            Agent.objects.create(
                enterprise=enterprise,
                user=user,
                status=AgentStatus.APPROVED,
                manager=True,
                decided_at=timezone.now(),
            )
            record(user, "enterprise.register", target=enterprise, summary=enterprise.name)
    except IntegrityError:
        enterprise.document.delete(save=False)
        raise _already_registered() from None
    return enterprise


def _already_registered() -> EnterpriseRefused:
    return EnterpriseRefused(
        "uscc.taken",
        _("This enterprise is already registered; ask its manager to add you as an agent."),
        "uscc",
    )


def request_agency(user: User, uscc: str) -> Agent:
    """A citizen asks to act for an enterprise; its manager approves."""
    access.check(user, Action.ENTERPRISE_REGISTER)
    try:
        code = parse_uscc(uscc)
    except InvalidValue as exc:
        raise _invalid("uscc", exc) from None
    enterprise = Enterprise.objects.filter(uscc=code).first()
    if enterprise is None:
        raise EnterpriseRefused(
            "enterprise.unknown",
            _("No enterprise is registered with this code; register it first."),
            "uscc",
        )
    with locking_transaction():
        agent, created = Agent.objects.get_or_create(enterprise=enterprise, user=user)
        if not created and agent.status == AgentStatus.REMOVED:
            Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.PENDING, decided_at=None)
            agent.status = AgentStatus.PENDING
        record(user, "enterprise.agent_request", target=enterprise, summary=enterprise.name)
    return agent


def decide_agent(manager: User, agent: Agent, *, approve: bool) -> Agent:
    """The enterprise's manager approves an agent, or removes one."""
    access.check(manager, Action.ENTERPRISE_MANAGE_AGENTS, agent)
    if agent.manager:
        raise EnterpriseRefused(
            "agent.manager", _("The manager stays an agent of the enterprise."), "agent"
        )
    status = AgentStatus.APPROVED if approve else AgentStatus.REMOVED
    with locking_transaction():
        Agent.objects.filter(pk=agent.pk).update(status=status, decided_at=timezone.now())
        record(
            manager,
            "enterprise.agent_approve" if approve else "enterprise.agent_remove",
            target=agent,
            summary=str(agent.user),
        )
    agent.status = status
    return agent


def verify(actor: Actor, enterprise: Enterprise, *, approve: bool, note: str = "") -> Enterprise:
    """A regional administrator or the online centre verifies an enterprise (or not, with
    the reason) after checking its licence."""
    access.check(actor, Action.ENTERPRISE_VERIFY, enterprise)
    if not approve and not note.strip():
        raise EnterpriseRefused(
            "note.required", _("Say why the enterprise is not verified."), "note"
        )
    status = EnterpriseStatus.VERIFIED if approve else EnterpriseStatus.REJECTED
    with locking_transaction():
        Enterprise.objects.filter(pk=enterprise.pk).update(
            status=status,
            decided_at=timezone.now(),
            decided_by=access.as_user(actor),
            decision_note=note.strip()[:300],
        )
        record(actor, f"enterprise.{status}", target=enterprise, summary=note[:200])
    enterprise.refresh_from_db()
    return enterprise


def grant(
    actor: Actor, enterprise: Enterprise, applicant_class: str, valid_until: date, reason: str
) -> Grant:
    """Grant a verified enterprise a priority class until a date, with the reason."""
    access.check(actor, Action.PRIORITY_GRANT, enterprise)
    try:
        member = parse_class(applicant_class, default=None)
    except ValueError:
        member = DEFAULT_CLASS
    if member == DEFAULT_CLASS:
        raise EnterpriseRefused(
            "grant.class", _("Choose a priority class to grant."), "applicant_class"
        )
    if enterprise.status != EnterpriseStatus.VERIFIED:
        raise EnterpriseRefused(
            "enterprise.unverified",
            _("Verify the enterprise before granting it a priority class."),
        )
    if valid_until < timezone.localdate():
        raise EnterpriseRefused(
            "grant.expired",
            _("The grant would already have expired; choose a later date."),
            "valid_until",
        )
    text = _text("reason", reason, 300, _("the reason"))
    granted_by = access.as_user(actor)
    if granted_by is None:
        raise EnterpriseRefused(
            "grant.person", _("A grant is made by a person, who answers for it.")
        )
    with locking_transaction():
        given = Grant.objects.create(
            enterprise=enterprise,
            applicant_class=member,
            valid_until=valid_until,
            reason=text,
            granted_by=granted_by,
        )
        record(
            actor,
            "enterprise.grant",
            target=given,
            summary=f"{member} until {valid_until:%Y-%m-%d}: {text}",
        )
    return given


def revoke(actor: Actor, given: Grant, reason: str) -> Grant:
    access.check(actor, Action.PRIORITY_GRANT, given)
    text = _text("reason", reason, 300, _("the reason"))
    with locking_transaction():
        changed = Grant.objects.filter(pk=given.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=access.as_user(actor), revoke_reason=text
        )
        if changed != 1:
            raise EnterpriseRefused("grant.revoked", _("This grant was already revoked."))
        record(actor, "enterprise.revoke", target=given, summary=text)
    given.refresh_from_db()
    return given


def grants_in_force(enterprise_id: int, day: date) -> QuerySet[Grant]:
    return Grant.objects.filter(
        enterprise_id=enterprise_id, revoked_at__isnull=True, valid_until__gte=day
    )


def add_vehicle(
    user: User, enterprise: Enterprise, *, plate: str, vehicle_type: str, use: str
) -> Vehicle:
    """An agent adds a vehicle to the fleet; a plate is in one fleet at a time."""
    access.check(user, Action.ENTERPRISE_ACT, enterprise)
    try:
        number = parse_plate(plate).number
    except InvalidValue as exc:
        raise _invalid("plate", exc) from None
    if use not in VehicleUse.values:
        raise EnterpriseRefused("vehicle.use", _("Choose what the vehicle is used for."), "use")
    kind = _text("vehicle_type", vehicle_type, 40, _("the vehicle type"))
    taken = Vehicle.objects.filter(plate=number, active=True).first()
    if taken is not None:
        raise _plate_taken(taken, enterprise)
    try:
        with locking_transaction():
            vehicle = Vehicle.objects.create(
                enterprise=enterprise, plate=number, vehicle_type=kind, use=use
            )
            record(user, "enterprise.vehicle_add", target=vehicle, summary=vehicle.masked_plate)
    except IntegrityError:
        raise _plate_taken(None, enterprise) from None
    return vehicle


def _plate_taken(taken: Vehicle | None, enterprise: Enterprise) -> EnterpriseRefused:
    if taken is not None and taken.enterprise_id == enterprise.pk:
        return EnterpriseRefused(
            "plate.in_fleet", _("This vehicle is already in the fleet."), "plate"
        )
    return EnterpriseRefused(
        "plate.other_fleet",
        _("This vehicle is in another enterprise's fleet; that enterprise must remove it first."),
        "plate",
    )


def remove_vehicle(user: User, vehicle: Vehicle) -> Vehicle:
    access.check(user, Action.ENTERPRISE_ACT, vehicle)
    with locking_transaction():
        Vehicle.objects.filter(pk=vehicle.pk).update(active=False)
        record(user, "enterprise.vehicle_remove", target=vehicle, summary=vehicle.masked_plate)
    vehicle.active = False
    return vehicle


def enterprises_of(user: User) -> QuerySet[Enterprise]:
    """The enterprises this account is an approved agent of."""
    return Enterprise.objects.filter(
        agents__user=user, agents__status=AgentStatus.APPROVED
    ).distinct()


def fleet_vehicle(user: User, vehicle_id: int) -> Vehicle | None:
    """A vehicle of a fleet this account acts for (None for any other)."""
    return vehicles_of(user).select_related("enterprise").filter(pk=vehicle_id).first()


def holds(enterprise: Enterprise, applicant_class: str, day: date) -> bool:
    """Whether the enterprise is verified and holds a grant of this class on `day`."""
    return (
        enterprise.status == EnterpriseStatus.VERIFIED
        and grants_in_force(enterprise.pk, day).filter(applicant_class=applicant_class).exists()
    )


def fleet(user: User, enterprise: Enterprise) -> QuerySet[Vehicle]:
    """The enterprise's vehicles, for its agents."""
    access.check(user, Action.ENTERPRISE_ACT, enterprise)
    return Vehicle.objects.filter(enterprise=enterprise, active=True).order_by("plate")


def vehicles_of(user: User) -> QuerySet[Vehicle]:
    """The vehicles of every fleet this account acts for (to book for one)."""
    return Vehicle.objects.filter(
        active=True,
        enterprise__agents__user=user,
        enterprise__agents__status=AgentStatus.APPROVED,
    ).order_by("plate")
