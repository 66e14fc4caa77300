"""Writing the audit log. Every staff state change and every unmasked view goes through record()."""

from __future__ import annotations

from typing import Any

from django.db import models

from trafficdesk.accounts import access
from trafficdesk.audit.models import AuditEntry, Outcome
from trafficdesk.core.actions import Action
from trafficdesk.core.context import current_request_context
from trafficdesk.core.validators import mask_personal_data_in_text


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
