"""Carrier adapters: each carrier's webhook body becomes tracking events. Add a carrier by
writing an adapter and naming it in CARRIER_ADAPTERS (carrier → dotted path); carriers not
listed use the generic JSON adapter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class CarrierEvent:
    event_id: str
    waybill: str
    status: str
    at: datetime
    location: str = ""
    description: str = ""


class CarrierAdapter(Protocol):
    def parse(self, body: bytes) -> CarrierEvent: ...


class JsonAdapter:
    """{"event_id", "waybill", "status", "at" (ISO 8601), "location", "description"}."""

    def parse(self, body: bytes) -> CarrierEvent:
        payload = json.loads(body)
        at = datetime.fromisoformat(str(payload["at"]))
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        return CarrierEvent(
            str(payload["event_id"]),
            str(payload["waybill"]),
            str(payload["status"]),
            at,
            str(payload.get("location", "")),
            str(payload.get("description", "")),
        )


def adapter_for(carrier: str) -> CarrierAdapter:
    path = getattr(settings, "CARRIER_ADAPTERS", {}).get(carrier)
    return import_string(path)() if path else JsonAdapter()  # type: ignore[no-any-return]
