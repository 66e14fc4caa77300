"""The admin saves only through the services: the same access rules, the same validation
and the same audit entries as the pages and the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from trafficdesk.audit.models import AuditEntry
from trafficdesk.catalog.models import Business
from trafficdesk.sites.models import ServicePoint, Window, Zone


def _business_form(business: Business, **changes: Any) -> dict[str, Any]:
    form = {
        "code": business.code,
        "name_zh": business.name_zh,
        "name_en": business.name_en,
        "category": business.category_id,
        "service_minutes": business.service_minutes,
        "deliverable": business.deliverable,
    }
    for flag in ("online", "on_site_required", "active"):
        if getattr(business, flag):
            form[flag] = "on"
    form.update(changes)
    return form


def test_a_county_administrator_cannot_edit_the_catalogue(
    client: Client, users: dict[str, Any]
) -> None:
    business = Business.objects.get(code="P01")
    client.force_login(users["nanming_admin"])
    page = client.get(f"/admin/catalog/business/{business.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode(), "read only"
    response = client.post(
        f"/admin/catalog/business/{business.pk}/change/",
        _business_form(business, service_minutes=99),
    )
    assert response.status_code == 403
    business.refresh_from_db()
    assert business.service_minutes != 99


def test_the_province_edits_the_catalogue_and_it_is_audited(
    client: Client, users: dict[str, Any]
) -> None:
    business = Business.objects.get(code="P01")
    client.force_login(users["gz_admin"])
    response = client.post(
        f"/admin/catalog/business/{business.pk}/change/",
        _business_form(business, service_minutes=25),
    )
    assert response.status_code == 302, response.content[:400]
    business.refresh_from_db()
    assert business.service_minutes == 25
    entry = AuditEntry.objects.get(action="business.change", object_id=str(business.pk))
    assert entry.actor_label == "gz_admin" and "service_minutes" in entry.detail["fields"]


def test_a_zone_cap_below_the_people_inside_is_refused_in_the_admin(
    client: Client, users: dict[str, Any]
) -> None:
    zone = Zone.objects.filter(service_point__code="GY-HALL-01").first()
    assert zone is not None
    Zone.objects.filter(pk=zone.pk).update(present=5)
    client.force_login(users["manager"])
    response = client.post(
        f"/admin/sites/zone/{zone.pk}/change/",
        {
            "service_point": zone.service_point_id,
            "name_zh": zone.name_zh,
            "name_en": zone.name_en,
            "occupancy_cap": 3,
            "is_open": "on",
        },
    )
    assert response.status_code == 200 and "5" in response.content.decode()
    zone.refresh_from_db()
    assert (zone.occupancy_cap, zone.present) != (3, 5)


def test_a_window_cannot_stand_in_another_halls_zone(client: Client, users: dict[str, Any]) -> None:
    window = Window.objects.get(service_point__code="GY-QC-NM", number=1)
    elsewhere = Zone.objects.filter(service_point__code="GY-HALL-01").first()
    assert elsewhere is not None
    client.force_login(users["gz_admin"])
    response = client.post(
        f"/admin/sites/window/{window.pk}/change/",
        {
            "service_point": window.service_point_id,
            "number": window.number,
            "kind": window.kind,
            "zone": elsewhere.pk,
            "businesses": [b.pk for b in window.businesses.all()],
            "is_open": "on",
        },
    )
    assert response.status_code == 200
    window.refresh_from_db()
    assert window.zone.service_point_id == window.service_point_id


def test_a_hall_manager_edits_only_their_own_point(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["manager"])
    listing = client.get("/admin/sites/servicepoint/")
    assert {p.code for p in listing.context["cl"].result_list} == {"GY-HALL-01"}
    other = ServicePoint.objects.get(code="GY-BR-HX")
    assert client.get(f"/admin/sites/servicepoint/{other.pk}/change/").status_code in (
        302,
        403,
        404,
    )


def test_a_refusal_in_the_admin_is_audited_although_djangos_transaction_rolls_back(
    client: Client, users: dict[str, Any]
) -> None:
    business = Business.objects.get(code="P01")
    client.force_login(users["nanming_admin"])
    client.post(
        f"/admin/catalog/business/{business.pk}/change/",
        _business_form(business, service_minutes=99),
    )
    assert AuditEntry.objects.filter(
        action="catalog.edit", outcome="denied", actor_label="nanming_admin"
    ).exists()


def test_deleting_several_zones_is_all_or_nothing(client: Client, users: dict[str, Any]) -> None:
    from trafficdesk.sites.services import save_zone

    point = ServicePoint.objects.get(code="GY-HALL-01")
    empty = save_zone(
        users["gz_admin"], Zone(service_point=point, name_zh="临时区", occupancy_cap=5)
    )
    busy = save_zone(
        users["gz_admin"], Zone(service_point=point, name_zh="有人区", occupancy_cap=5)
    )
    Zone.objects.filter(pk=busy.pk).update(present=1)  # someone is inside
    client.force_login(users["gz_admin"])
    response = client.post(
        "/admin/sites/zone/",
        {"action": "delete_selected", "_selected_action": [empty.pk, busy.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert Zone.objects.filter(pk__in=[empty.pk, busy.pk]).count() == 2


def test_a_zone_or_window_stays_at_its_service_point(users: dict[str, Any]) -> None:
    from trafficdesk.sites.services import SiteChangeRefused, save_window, save_zone

    zone = Zone.objects.filter(service_point__code="GY-HALL-01").first()
    assert zone is not None
    zone.service_point = ServicePoint.objects.get(code="GY-BR-HX")
    with pytest.raises(SiteChangeRefused):
        save_zone(users["gz_admin"], zone)
    window = Window.objects.get(service_point__code="GY-HALL-01", number=3)
    window.service_point = ServicePoint.objects.get(code="GY-BR-HX")
    with pytest.raises(SiteChangeRefused):
        save_window(users["gz_admin"], window)
