"""Real-name booking (实名): the one owner of "for whose ID number may this account book".

* A citizen account binds one resident ID number (`bind_identity`), verified by the identity
  verifier (accounts.verifiers, the IDENTITY_VERIFIER setting); one ID, one account.
* It may declare up to FAMILY_MEMBERS_MAX family members (`declare_family_member`), each
  verified the same way, and book for them.
* An enterprise agent with a valid fleet claim (booking.claims) books for its fleet's
  vehicles and their drivers, as before.
* Anything else is refused (`check_may_book_for`), with the way forward. An account that
  has no bound ID yet and books with an ID number binds that number then (when the verifier
  needs no name and the number is nobody else's), so the first booking still works in one step.

Only keyed digests (core.identity) and masked forms are stored, never an ID number or a name.
The caps on active bookings per account and per ID are the booking statement's
(booking.holders.within_caps_sql), so that they hold under concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trafficdesk.accounts import access
from trafficdesk.accounts.models import FamilyMember, Identity, User
from trafficdesk.accounts.verifiers import Verdict, configured
from trafficdesk.core import sql
from trafficdesk.core.actions import Action
from trafficdesk.core.errors import Refusal
from trafficdesk.core.identity import id_digest
from trafficdesk.core.validators import (
    InvalidValue,
    check_free_text,
    mask_name,
    mask_resident_id,
    parse_resident_id,
)

changed = Signal()
"""Sent with actor, action, target and summary by every real-name change, inside its
transaction; the audit app records it (audit imports accounts, never the other way)."""


def _audit(user: User, action: str, summary: str) -> None:
    changed.send(sender=Identity, actor=user, action=action, target=user, summary=summary)


#: What "relation" a family member may have (stored as given, shown translated).
RELATIONS = ("spouse", "parent", "child", "sibling", "other")


class RealNameRefused(Refusal):
    """An ID the account may not use, or a binding the rules refuse; `field` names the
    request's field at fault."""

    def __init__(self, code: str, message: str, field: str = "", status: int = 409) -> None:
        super().__init__(message, code)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Person:
    """Whom a booking is for: the digest and masked form of the ID number."""

    digest: str
    masked: str


def relation_label(relation: str) -> str:
    labels = {
        "spouse": _("spouse"),
        "parent": _("parent"),
        "child": _("child"),
        "sibling": _("brother or sister"),
        "other": _("other family member"),
    }
    return labels.get(relation, _("other family member"))


def identity_of(user: User) -> Identity | None:
    """The ID number bound to `user`, read fresh (each booking asks: one plain statement)."""
    return sql.fetch_one(Identity, "user_id", user.pk)


def family_of(user: User) -> QuerySet[FamilyMember]:
    return FamilyMember.objects.filter(account_id=user.pk).order_by("pk")


def _number(id_number: str) -> str:
    try:
        return parse_resident_id(id_number).number
    except InvalidValue as exc:
        language = (get_language() or "").lower()
        raise RealNameRefused(
            exc.code,
            exc.message_zh if language.startswith("zh") else exc.message_en,
            "id_number",
            422,
        ) from exc


def _name(name: str, *, required: bool) -> str:
    try:
        clean = check_free_text(name or "").strip()
    except InvalidValue:
        clean = ""
    if len(clean) > 40 or (required and not clean):
        raise RealNameRefused(
            "realname.name",
            _("Give the full name as written on the ID card (at most 40 characters)."),
            "name",
            422,
        )
    return clean


def _verify(number: str, name: str) -> None:
    """The verifier's verdict, as a refusal unless it is a match."""
    verifier = configured()
    clean = _name(name, required=verifier.requires_name)
    verdict = verifier.verify(number, clean)
    if verdict is Verdict.UNAVAILABLE:
        raise RealNameRefused(
            "realname.unavailable",
            _(
                "The identity check is not answering right now; nothing was changed. "
                "Try again in a few minutes."
            ),
            status=503,
        )
    if verdict is Verdict.NO_MATCH:
        raise RealNameRefused(
            "realname.no_match",
            _(
                "The ID number and the name do not match the population register. Check "
                "both against the ID card and try again."
            ),
            "id_number",
            422,
        )


def _refuse_if_taken(digest: str, user: User) -> None:
    if Identity.objects.filter(id_digest=digest).exclude(user_id=user.pk).exists():
        raise RealNameRefused(
            "realname.taken",
            _(
                "This ID number is bound to another account: one ID number, one account. "
                "Log in with that account, or ask the service hall to check it if the "
                "account is not yours."
            ),
            "id_number",
        )


def bind_identity(user: User, id_number: str, name: str = "") -> Identity:
    """Bind a verified resident ID number to a citizen account (once: it cannot be changed
    here, only by the service hall), audited."""
    access.check(user, Action.REALNAME_MANAGE)
    number = _number(id_number)
    digest = id_digest(number)
    current = identity_of(user)
    if current is not None:
        if current.id_digest == digest:
            return current
        raise RealNameRefused(
            "realname.bound",
            _(
                "This account is already bound to the ID number %(masked)s. To book for "
                "someone else, declare them as a family member on the real-name page."
            )
            % {"masked": current.id_masked},
            "id_number",
        )
    _refuse_if_taken(digest, user)
    _verify(number, name)
    try:
        with transaction.atomic():
            identity = Identity.objects.create(
                user=user,
                id_digest=digest,
                id_masked=mask_resident_id(number),
                name_masked=mask_name(name) if name.strip() else "",
                verified_at=timezone.now(),
            )
            _audit(user, "realname.bind", f"bound {identity.id_masked}")
    except IntegrityError:  # bound meanwhile, by this account or another
        current = identity_of(user)
        if current is not None and current.id_digest == digest:
            return current
        _refuse_if_taken(digest, user)
        raise
    return identity


def declare_family_member(user: User, id_number: str, name: str, relation: str) -> FamilyMember:
    """Declare (and verify) a family member this account may book for, audited."""
    access.check(user, Action.REALNAME_MANAGE)
    identity = identity_of(user)
    if identity is None:
        raise RealNameRefused(
            "realname.unbound",
            _("Bind your own ID number first; then you can declare family members."),
            "id_number",
        )
    if relation not in RELATIONS:
        raise RealNameRefused(
            "realname.relation", _("Choose how this person is related to you."), "relation", 422
        )
    number = _number(id_number)
    digest = id_digest(number)
    if digest == identity.id_digest:
        raise RealNameRefused(
            "realname.self",
            _("This is your own ID number; you can book for yourself already."),
            "id_number",
        )
    if family_of(user).filter(id_digest=digest).exists():
        raise RealNameRefused(
            "realname.declared",
            _("This person is already one of your family members."),
            "id_number",
        )
    if family_of(user).count() >= settings.FAMILY_MEMBERS_MAX:
        raise RealNameRefused(
            "realname.family_full",
            _(
                "You have declared %(count)d family members, the most an account may have. "
                "Remove one you no longer book for, or they can book with their own account."
            )
            % {"count": settings.FAMILY_MEMBERS_MAX},
        )
    _verify(number, name)
    with transaction.atomic():
        member = FamilyMember.objects.create(
            account=user,
            id_digest=digest,
            id_masked=mask_resident_id(number),
            name_masked=mask_name(name) if name.strip() else "",
            relation=relation,
            verified_at=timezone.now(),
        )
        _audit(user, "realname.family_add", f"{relation} {member.id_masked}")
    return member


def remove_family_member(user: User, member_id: int) -> None:
    """The account no longer books for this family member (bookings made stay), audited."""
    access.check(user, Action.REALNAME_MANAGE)
    member = family_of(user).filter(pk=member_id).first()
    if member is None:
        raise RealNameRefused(
            "realname.no_member", _("There is no such family member on your account."), status=404
        )
    with transaction.atomic():
        member.delete()
        _audit(user, "realname.family_remove", f"{member.relation} {member.id_masked}")


def _other_person() -> RealNameRefused:
    return RealNameRefused(
        "realname.other_person",
        _(
            "This account may book only with its own ID number or a verified family "
            "member's. To book for this person, declare them as a family member on the "
            "real-name page, or they book with their own account."
        ),
        "id_number",
    )


def check_may_book_for(
    holder: User,
    id_number: str = "",
    *,
    family_member: int | None = None,
    agent: bool = False,
) -> Person:
    """Whom this booking (or draw application) is for, if `holder` may book for them:
    `family_member` (a declared member's id), else `id_number` (the holder's bound ID, a
    family member's, or any ID on an enterprise agent's valid fleet claim: `agent`), else
    the holder's own bound ID. An unbound account giving an ID binds it now. RealNameRefused
    otherwise, saying why and what to do."""
    if family_member is not None:
        member = family_of(holder).filter(pk=family_member).first()
        if member is None:
            raise RealNameRefused(
                "realname.no_member",
                _("There is no such family member on your account."),
                "family_member",
            )
        return Person(member.id_digest, member.id_masked)
    identity = identity_of(holder)
    if not id_number.strip():
        if identity is None:
            raise RealNameRefused(
                "realname.unbound",
                _("Give your ID number (it is then bound to this account)."),
                "id_number",
                422,
            )
        return Person(identity.id_digest, identity.id_masked)
    number = _number(id_number)
    digest, masked = id_digest(number), mask_resident_id(number)
    if agent:
        return Person(digest, masked)
    if identity is None:
        if configured().requires_name:
            raise RealNameRefused(
                "realname.unbound",
                _("Bind your ID number with your name on the real-name page first; then book."),
                "id_number",
            )
        identity = bind_identity(holder, number)
    if identity.id_digest == digest or family_of(holder).filter(id_digest=digest).exists():
        return Person(digest, masked)
    raise _other_person()
