"""Writing the audit log. Every staff state change and every unmasked view goes through record()."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import models

from trafficdesk.accounts import access
from trafficdesk.audit.models import AuditEntry, Outcome
from trafficdesk.core.actions import Action
from trafficdesk.core.context import current_request_context
from trafficdesk.core.locking import locking_transaction
from trafficdesk.core.validators import mask_personal_data_in_text

M = TypeVar("M", bound=models.Model)


def _label(actor: Any) -> str:
    if getattr(actor, "is_system", False):
        return "system"
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "anonymous"
    return str(actor.get_username())


def record(
    actor: Any,
    action: str,
    *,
    target: models.Model | None = None,
    summary: str = "",
    detail: dict[str, Any] | None = None,
    outcome: str = Outcome.OK,
) -> AuditEntry:
    """Append one entry. The summary is masked, so personal data never lands in the log."""
    ctx = current_request_context()
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=_label(actor),
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        summary=mask_personal_data_in_text(summary)[:300],
        detail=detail or {},
        ip=ctx.ip if ctx else None,
        outcome=outcome,
    )


def record_refusal(
    sender: Any, *, actor: Any, action: Any, target: Any, reason: str, **kwargs: Any
) -> None:
    """Receives accounts.access.denied: every refusal of the access module is logged."""
    record(
        actor,
        str(action),
        target=target if isinstance(target, models.Model) else None,
        summary=f"refused: {reason}",
        outcome=Outcome.DENIED,
    )


def record_change(
    sender: Any, *, actor: Any, action: str, target: Any, summary: str, **kwargs: Any
) -> None:
    """Receives a change another app announces (accounts.realname.changed), in its
    transaction."""
    record(actor, action, target=target, summary=summary)


def record_sms_retry(sender: Any, *, actor: Any, message: Any, **kwargs: Any) -> None:
    """Receives notify.services.retried_by_staff: staff sent a failed notice again."""
    record(
        actor,
        "notify.retry",
        target=message,
        summary=f"SMS {message.kind} to {message.recipient_masked} sent again",
        detail={"last_error": message.error},
    )


def _owner_id(subject: Any) -> Any:
    """The pk of the citizen the subject is about (a booking's holder, an application's
    applicant), or None."""
    field = getattr(subject, "owner_field", None) or "applicant"
    return getattr(subject, f"{field}_id", None)


def record_view(
    actor: Any,
    subject: models.Model | None,
    fields: Sequence[str],
    purpose: str,
    *,
    count: int | None = None,
) -> AuditEntry | None:
    """Record that a member of staff was shown a citizen's personal data: who (the actor),
    what (the subject and the `fields` shown, masked or not), when (the entry's time) and why
    (`purpose`, a short code such as "online.detail"). A report passes `count`, the number
    of people it listed, and records once per view. A citizen seeing their own data is not a
    staff view: nothing is recorded (None)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    if subject is not None and actor.pk is not None and _owner_id(subject) == actor.pk:
        return None
    detail: dict[str, Any] = {"fields": sorted(fields), "purpose": purpose}
    if count is not None:
        detail["count"] = count
    return record(
        actor,
        "personal_data.shown",
        target=subject,
        summary=f"{count} people listed for {purpose}"
        if count is not None
        else f"shown for {purpose}",
        detail=detail,
    )


class RevealRefused(Exception):
    """A full number was asked for without saying why."""


def reveal_mobile(actor: Any, subject: Any, reason: str = "", *, number: str | None = None) -> str:
    """Show a person's full mobile number to staff, for a stated `reason`; every such view is
    audited with the reason. `number` is the mobile to show when it is not `subject.mobile`
    (a booking's holder's, an application's delivery number). Without a reason: RevealRefused."""
    why = " ".join(str(reason or "").split())[:200]
    if not why:
        raise RevealRefused("a reason is required")
    access.check(actor, Action.PERSONAL_DATA_REVEAL, subject)
    record(
        actor,
        "personal_data.view",
        target=subject,
        summary=f"viewed unmasked mobile number: {why}",
        detail={"fields": ["mobile"], "reason": mask_personal_data_in_text(why)},
    )
    return str((subject.mobile if number is None else number) or "")


def save_recorded(
    actor: Any, obj: M, *, fields: Sequence[str], changed: Sequence[str], action: str
) -> M:
    """Save a new object whole, or only the `changed` ones of its editable `fields`, and
    record who did it as `<action>.add` or `<action>.change` — in one locking transaction.
    The caller has checked access (before, so that a refusal stays in the log)."""
    creating = obj.pk is None
    written = sorted(fields) if creating else sorted(f for f in changed if f in fields)
    with locking_transaction():
        if creating:
            obj.save()
        elif written:
            obj.save(update_fields=written)
        record(
            actor,
            f"{action}.{'add' if creating else 'change'}",
            target=obj,
            summary=str(obj),
            detail={"fields": written},
        )
    return obj
