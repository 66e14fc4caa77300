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


def reveal_mobile(actor: Any, subject: Any) -> str:
    """Show a person's full mobile number to staff; every such view is audited."""
    access.check(actor, Action.PERSONAL_DATA_REVEAL, subject)
    record(actor, "personal_data.view", target=subject, summary="viewed unmasked mobile number")
    return str(subject.mobile or "")


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
