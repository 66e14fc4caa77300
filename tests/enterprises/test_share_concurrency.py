"""The race of an enterprise's agents for the priority hold: N agents booking at once never
take more than the enterprise's share of the day (booking.claims.take_share), with a negative
control showing the race is real when the share is read and written back."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.booking.conftest import make_citizen, make_id, make_slot  # noqa: F401 - fixtures
from tests.booking.test_concurrency import run_together
from trafficdesk.accounts.models import User
from trafficdesk.booking import services
from trafficdesk.booking.claims import ClaimIn
from trafficdesk.booking.models import Booking, EnterpriseDayUse
from trafficdesk.core.validators import uscc_check_char
from trafficdesk.enterprises import services as enterprises
from trafficdesk.enterprises.models import Enterprise, Vehicle

AGENTS, SHARE = 12, 3
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def freight_enterprise(make_citizen: Any) -> tuple[Enterprise, list[User], list[Vehicle]]:  # noqa: F811
    """A verified enterprise holding RESUMPTION, with AGENTS approved agents and a lorry each."""
    manager = make_citizen()
    code = "91520115MA6H7K3R1" + uscc_check_char("91520115MA6H7K3R1")
    enterprise = enterprises.register(
        manager,
        uscc=code,
        name="并发物流",
        address="贵阳市观山湖区",
        contact_name="王五",
        contact_mobile="13900009876",
        document_name="licence.png",
        document=PNG,
    )
    admin = User.objects.get(username="gz_admin")
    enterprises.verify(admin, enterprise, approve=True)
    enterprises.grant(
        admin, enterprise, "RESUMPTION", timezone.localdate() + timedelta(days=30), "复工运输"
    )
    agents = [manager]
    for _ in range(AGENTS - 1):
        agent = make_citizen()
        enterprises.decide_agent(manager, enterprises.request_agency(agent, code), approve=True)
        agents.append(agent)
    lorries = [
        enterprises.add_vehicle(
            manager, enterprise, plate=f"贵A{10000 + i}", vehicle_type="货车", use="freight"
        )
        for i in range(AGENTS)
    ]
    return enterprise, agents, lorries


def test_race_agents_of_one_enterprise_never_exceed_its_share(
    transactional_db: Any,
    demo: Any,
    make_citizen: Any,  # noqa: F811
    make_slot: Any,  # noqa: F811
    settings: Any,
) -> None:
    settings.PRIORITY_BOOKINGS_PER_ENTERPRISE_DAY = SHARE
    enterprise, agents, lorries = freight_enterprise(make_citizen)
    slot = make_slot(people=AGENTS)
    results = run_together(
        AGENTS,
        lambda i: services.book(
            agents[i],
            slot.pk,
            ["P01"],
            make_id(95_000 + i),
            "RESUMPTION",
            notify=False,
            claim=ClaimIn(vehicle_id=lorries[i].pk),
        ),
    )
    booked = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, services.BookingRefused)]
    busy = [r for r in results if isinstance(r, services.Busy)]
    assert len(booked) + len(refused) + len(busy) == AGENTS, results
    assert len(booked) == SHARE, (len(booked), [r.code for r in refused], len(busy))
    assert all(r.code == "claim.share" for r in refused)
    day = timezone.localdate(slot.starts_at)
    used = EnterpriseDayUse.objects.get(enterprise=enterprise, day=day).used
    assert used == SHARE == Booking.objects.filter(slot=slot, claim__enterprise=enterprise).count()


def naive_share(enterprise: Enterprise, day: Any) -> bool:
    """The race, on purpose: read the day's use, decide, write it back."""
    with transaction.atomic():
        row, _created = EnterpriseDayUse.objects.get_or_create(enterprise=enterprise, day=day)
        if row.used >= SHARE:
            return False
        time.sleep(0.01)
        EnterpriseDayUse.objects.filter(pk=row.pk).update(used=row.used + 1)
        return True


def test_negative_control_a_share_read_and_written_back_is_exceeded(
    transactional_db: Any,
    demo: Any,
    make_citizen: Any,  # noqa: F811
    settings: Any,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite opens every transaction IMMEDIATE, which serialises even the naive code"
        )
    enterprise, _agents, _lorries = freight_enterprise(make_citizen)
    day = timezone.localdate() + timedelta(days=2)
    EnterpriseDayUse.objects.create(enterprise=enterprise, day=day)
    taken = run_together(AGENTS, lambda i: naive_share(enterprise, day))
    assert sum(t is True for t in taken) > SHARE, "the naive code did not race; it proves nothing"
