"""Who is called next (pure). SPEC: the highest class first, then booked-on-time before
walk-in, then the earliest arrival; ageing lifts a ticket one class for every
`ageing_minutes` it has waited, so that nobody waits without bound."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from trafficdesk.core.vocabulary import CLASS_RANK, WindowKind


@dataclass(frozen=True, slots=True)
class Waiting:
    ticket_id: int
    applicant_class: str
    on_time: bool
    arrived_at: datetime
    business_id: int


def effective_rank(ticket: Waiting, now: datetime, ageing_minutes: int) -> int:
    waited = max(0.0, (now - ticket.arrived_at).total_seconds() / 60)
    return CLASS_RANK[ticket.applicant_class] - int(waited // ageing_minutes)


def order(tickets: Iterable[Waiting], now: datetime, ageing_minutes: int) -> list[Waiting]:
    return sorted(
        tickets,
        key=lambda t: (
            effective_rank(t, now, ageing_minutes),
            not t.on_time,
            t.arrived_at,
            t.ticket_id,
        ),
    )


def window_may_serve(
    window_kind: str,
    allowed_kinds: Iterable[str],
    applicant_class: str,
    priority_classes: Iterable[str],
) -> bool:
    """Emergency windows serve only the classes the policy in force serves first
    (`priority_classes`); otherwise the policy's window kinds for this class decide."""
    if window_kind == WindowKind.EMERGENCY and applicant_class not in priority_classes:
        return False
    return window_kind in allowed_kinds


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(share * (len(ordered) - 1)))))
    return ordered[index]
