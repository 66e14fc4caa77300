from __future__ import annotations

from typing import Any

import pytest

from tests.booking.conftest import citizen, make_citizen, make_slot  # noqa: F401 - shared fixtures
from trafficdesk.catalog.models import Business
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
