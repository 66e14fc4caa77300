"""The refusals of the booking app: why, and what to do instead.

`BookingRefused.message` is the one plain sentence a citizen reads (pages and the API's
`detail` alike); the precise rules stay in `reasons`, for staff and programs. The ways
forward are `alternatives`, built from policy.citizen's ways (the same for pages and API).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import translation

from trafficdesk.core.errors import Refusal
from trafficdesk.core.validators import InvalidValue
from trafficdesk.policy.citizen import Way


@dataclass
class Alternative:
    kind: str  # "slot", "service_point", "online", "next_open", "phone", "booking"
    label: str
    slot_id: int | None = None
    service_point: str | None = None
    starts_at: datetime | None = None
    url: str | None = None
    distance_km: float | None = None
    phone: str | None = None

    @classmethod
    def from_way(cls, way: Way) -> Alternative:
        return cls(
            way.kind,
            way.label,
            slot_id=way.slot_id,
            service_point=way.service_point,
            starts_at=way.starts_at,
            url=way.url,
            distance_km=way.distance_km,
            phone=way.phone,
        )


def alternatives_from(ways: Iterable[Way]) -> list[Alternative]:
    return [Alternative.from_way(w) for w in ways]


def invalid_value_message(exc: InvalidValue) -> str:
    """A validator's message in the active language, without its code."""
    if (translation.get_language() or "").lower().startswith("zh"):
        return exc.message_zh
    return exc.message_en


class BookingRefused(Refusal):
    """A booking that cannot be made, with why and what to do instead."""

    def __init__(
        self,
        code: str,
        message: str,
        reasons: list[dict[str, str]] | None = None,
        alternatives: list[Alternative] | None = None,
        field: str = "",
    ) -> None:
        super().__init__(message, code)
        self.reasons = reasons or []
        self.alternatives = alternatives or []
        self.field = field
        """The request's field at fault, when the refusal is about one (a priority proof,
        the ID number)."""
