"""What `make demo` prints works as printed: the demo citizen books with the made-up ID
number given beside its login, and that first booking binds the number to the account."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from trafficdesk.accounts.models import Identity
from trafficdesk.accounts.services import citizen_for
from trafficdesk.booking.models import Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.identity import id_digest
from trafficdesk.core.validators import parse_resident_id
from trafficdesk.demo.services import DEMO_CITIZEN_ID_NUMBER, DEMO_CITIZEN_MOBILE


def test_the_demo_citizen_books_with_the_printed_id_number(client: Client, demo: Any) -> None:
    assert parse_resident_id(DEMO_CITIZEN_ID_NUMBER).number == DEMO_CITIZEN_ID_NUMBER
    citizen = citizen_for(DEMO_CITIZEN_MOBILE)
    plates = Business.objects.get(code="P01")
    slot = (
        Slot.objects.filter(
            service_point__code="GY-HALL-01",
            category=plates.category,
            rush__isnull=True,
            starts_at__gt=timezone.now() + timedelta(days=1),
        )
        .order_by("starts_at")
        .first()
    )
    assert slot is not None, "the demo has no plates slot at the Guiyang hall after tomorrow"
    client.force_login(citizen)
    answer = client.post(
        "/api/v1/bookings",
        json.dumps({"slot": slot.pk, "businesses": ["P01"], "id_number": DEMO_CITIZEN_ID_NUMBER}),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    bound = Identity.objects.get(user=citizen)
    assert bound.id_digest == id_digest(DEMO_CITIZEN_ID_NUMBER)


def test_the_readme_gives_the_same_id_number() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"`{DEMO_CITIZEN_ID_NUMBER}`" in readme
