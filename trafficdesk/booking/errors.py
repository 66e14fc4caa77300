"""The refusals of the booking app: why, and what to do instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trafficdesk.core.errors import Refusal


@dataclass
class Alternative:
    kind: str  # "slot", "service_point", "online"
    label: str
    slot_id: int | None = None
    service_point: str | None = None
    starts_at: datetime | None = None


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
        """The request's field at fault, when the refusal is about one (a priority proof)."""
