from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.booking.conftest import citizen, make_citizen, make_slot  # noqa: F401 - shared fixtures
from trafficdesk.accounts.access import SYSTEM
from trafficdesk.catalog.models import Business
from trafficdesk.hallqueue import services as hall_services
from trafficdesk.hallqueue.kiosk_http import KIOSK_COOKIE
from trafficdesk.hallqueue.models import KioskDevice
from trafficdesk.sites.models import ServicePoint, Window, Zone


@pytest.fixture
def hall(demo: Any) -> ServicePoint:
    return ServicePoint.objects.select_related("region").get(code="GY-HALL-01")


@pytest.fixture
def p01(demo: Any) -> Business:
    return Business.objects.select_related("category").get(code="P01")


@pytest.fixture
def window(hall: ServicePoint) -> Any:
    def get(number: int) -> Window:
        return (
            Window.objects.select_related("service_point__region")
            .prefetch_related("businesses__category")
            .get(service_point=hall, number=number)
        )

    return get


@pytest.fixture
def plate_zone(hall: ServicePoint) -> Zone:
    return Zone.objects.get(service_point=hall, windows__number=3)


def paired_kiosk(client: Client, point: ServicePoint, name: str = "测试取号机") -> KioskDevice:
    """Register a kiosk of `point` (as the system) and pair `client` with it, as the kiosk
    screen does by opening its pairing link: the client then carries the kiosk's cookie."""
    _device, code = hall_services.register_kiosk(SYSTEM, point, name)
    device, token = hall_services.pair_kiosk(point, code)
    client.cookies[KIOSK_COOKIE] = token
    return device


@pytest.fixture
def kiosk_device(client: Client, hall: ServicePoint) -> KioskDevice:
    """The test client is a registered, paired kiosk of the demo hall GY-HALL-01."""
    return paired_kiosk(client, hall)
