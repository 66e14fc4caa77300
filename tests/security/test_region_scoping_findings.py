"""Issue 17, item 2: every staff object and report is scoped to the actor's region of
authority, decided in accounts.access, through the admin, the pages and the API.

Nanming (520102) and Guanshanhu (520115) are counties of Guiyang (520100) in Guizhou
(520000): `nanming_admin` is a county administrator, `gz_admin` and `auditor` are
province-level, `clerk` works at the Guanshanhu hall (GY-HALL-01)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business, BusinessCategory
from trafficdesk.core.validators import id_check_char, mask_plate
from trafficdesk.deferral import services as deferral
from trafficdesk.deferral.models import DeferralWindow
from trafficdesk.hallqueue import services as hall
from trafficdesk.notify.models import SmsMessage
from trafficdesk.online import rules as online_rules
from trafficdesk.online import services as online
from trafficdesk.online.models import OnlineApplication
from trafficdesk.policy.models import DomainEvent, EventKind
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint, Window, Zone


def _id(county: str, serial: int) -> str:
    first17 = f"{county}19900101{serial:03d}"
    return first17 + id_check_char(first17)


def _as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the catalogue: province-wide, edited by a province administrator only ----------------


def test_a_county_administrator_reads_but_cannot_add_to_the_catalogue(
    users: dict[str, Any],
) -> None:
    county = _as(users["nanming_admin"])
    listing = county.get("/admin/catalog/businesscategory/")
    assert listing.status_code == 200 and "/admin/catalog/businesscategory/add/" not in (
        listing.content.decode()
    )
    refused = county.post(
        "/admin/catalog/businesscategory/add/", {"code": "MX", "name_zh": "县级", "name_en": "x"}
    )
    assert refused.status_code == 403
    assert not BusinessCategory.objects.filter(code="MX").exists()
    province = _as(users["gz_admin"])
    added = province.post(
        "/admin/catalog/businesscategory/add/", {"code": "MX", "name_zh": "省级", "name_en": "x"}
    )
    assert added.status_code == 302 and BusinessCategory.objects.filter(code="MX").exists()


# --- deferrals ending soon: the actor's region, plates masked on the page and the API -----


@pytest.fixture
def ended_deferral(users: dict[str, Any]) -> None:
    window = DeferralWindow.objects.get()  # the province's
    today = timezone.localdate()
    deferral.announce_end(users["gz_admin"], window, today - timedelta(days=1), grace_days=5)


def test_a_county_administrator_sees_only_its_countys_deferrals_with_plates_masked(
    users: dict[str, Any], ended_deferral: None
) -> None:
    api = _as(users["nanming_admin"]).get("/api/v1/deferral/ending-soon?days=7")
    assert api.status_code == 200
    rows = api.json()
    who = {(r["kind"], r["who"]) for r in rows}
    # Nanming's driver (5201 02…) and vehicle 贵A12345 (its owner is of Nanming); not the
    # Yunyan driver nor the Guanshanhu vehicle 贵A8K3M2
    assert ("inspection", mask_plate("贵A12345")) in who
    assert all(r["who"] != "贵A12345" for r in rows), "plates masked in the API too"
    assert not any(r["who"] == mask_plate("贵A8K3M2") for r in rows)
    assert {r["kind"] for r in rows} == {"renewal", "inspection"}, "Yunyan's review is not here"
    page = _as(users["nanming_admin"]).get("/deferral/report/?days=7").content.decode()
    assert mask_plate("贵A12345") in page and mask_plate("贵A8K3M2") not in page


def test_the_province_sees_every_countys_deferrals(
    users: dict[str, Any], ended_deferral: None
) -> None:
    rows = _as(users["gz_admin"]).get("/api/v1/deferral/ending-soon?days=7").json()
    plates = {r["who"] for r in rows if r["kind"] == "inspection"}
    assert plates == {mask_plate("贵A12345"), mask_plate("贵A8K3M2")}
    assert {r["kind"] for r in rows} == {"renewal", "review", "inspection"}


# --- a window stands in a zone of its own service point; a zone tickets only through them --


def _nanming_window() -> Window:
    return Window.objects.get(service_point__code="GY-QC-NM", number=1)


def _hall_zone() -> Zone:
    zone = Zone.objects.filter(service_point__code="GY-HALL-01", is_open=True).first()
    assert zone is not None
    return zone


def test_a_window_in_another_points_zone_is_refused_by_the_model_and_the_admin(
    users: dict[str, Any],
) -> None:
    window = _nanming_window()
    window.zone = _hall_zone()
    with pytest.raises(ValidationError) as refused:
        window.full_clean()
    assert "zone" in refused.value.message_dict
    response = _as(users["nanming_admin"]).post(
        f"/admin/sites/window/{window.pk}/change/",
        {
            "number": window.number,
            "kind": window.kind,
            "zone": _hall_zone().pk,
            "businesses": [b.pk for b in window.businesses.all()],
            "is_open": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert Window.objects.get(pk=window.pk).zone.service_point_id == window.service_point_id


def test_a_zone_never_tickets_a_business_through_another_points_window(
    users: dict[str, Any],
) -> None:
    """A window bound to another hall's zone before the rule (or by a direct write) does
    not make that hall ticket a business none of its own windows serves."""
    point = ServicePoint.objects.get(code="GY-HALL-01")
    served_here = set(
        Business.objects.filter(windows__service_point=point).values_list("pk", flat=True)
    )
    p01 = Business.objects.get(code="P01")
    only_there = Business.objects.create(
        code="PXZ",
        name_zh="只在南明办",
        category=p01.category,
        service_minutes=10,
        online=False,
        on_site_required=True,
    )
    assert only_there.pk not in served_here
    window = _nanming_window()
    Window.objects.filter(pk=window.pk).update(zone=_hall_zone(), is_open=True)
    window.businesses.add(only_there)
    with pytest.raises(hall.QueueRefused):
        hall.walk_in(point, only_there)
    hall.walk_in(point, p01)  # negative control: its own windows still ticket


# --- the SMS outbox and the domain events: the actor's region ------------------------------


@pytest.fixture
def outbox() -> dict[str, SmsMessage]:
    def row(kind: str, code: str | None, body: str) -> SmsMessage:
        region = Region.objects.get(code=code) if code else None
        return SmsMessage.objects.create(
            kind=kind, region=region, recipient_masked="139****0001", body=body
        )

    return {
        "nanming": row("booking.booked", "520102", "南明的通知"),
        "guanshanhu": row("booking.booked", "520115", "观山湖的通知"),
        "login": row("accounts.code", None, "您的验证码是******"),
    }


def _listed(client: Client, path: str) -> set[int]:
    response = client.get(path)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_a_county_administrator_sees_only_its_countys_sms(
    users: dict[str, Any], outbox: dict[str, SmsMessage]
) -> None:
    county = _as(users["nanming_admin"])
    listed = _listed(county, "/admin/notify/smsmessage/")
    assert outbox["nanming"].pk in listed
    assert not listed & {outbox["guanshanhu"].pk, outbox["login"].pk}
    elsewhere = county.get(f"/admin/notify/smsmessage/{outbox['guanshanhu'].pk}/change/")
    assert elsewhere.status_code in (302, 404)


def test_province_staff_see_every_sms_but_a_login_codes_text_never(
    users: dict[str, Any], outbox: dict[str, SmsMessage]
) -> None:
    for name in ("gz_admin", "auditor"):
        client = _as(users[name])
        assert {m.pk for m in outbox.values()} <= _listed(client, "/admin/notify/smsmessage/")
        login = client.get(f"/admin/notify/smsmessage/{outbox['login'].pk}/change/")
        assert login.status_code == 200 and "您的验证码是" not in login.content.decode()
        notice = client.get(f"/admin/notify/smsmessage/{outbox['nanming'].pk}/change/")
        assert "南明的通知" in notice.content.decode(), "a notice about a region keeps its text"


def test_a_notice_is_filed_under_the_region_it_is_about(users: dict[str, Any]) -> None:
    citizen = User.objects.create(username="scoping-sms", mobile="13912340088", role="citizen")
    application = online.submit(
        citizen,
        Business.objects.get(code="D01"),
        {"driver_id": _id("520102", 1), "classes": "C1", "reason": online_rules.Reason.LOST},
        delivery_address="贵阳市南明区花果园大街1号",
    )
    notice = application.events.get().notice
    assert notice is not None and notice.region.code == "520102"


def test_a_county_administrator_sees_only_its_countys_events(users: dict[str, Any]) -> None:
    now = timezone.now()
    here, there, everywhere = (
        DomainEvent.objects.create(
            kind=EventKind.RISK_CHANGED,
            region=Region.objects.get(code=code) if code else None,
            effective_from=now,
            summary=f"matrix {code}",
        )
        for code in ("520102", "520115", None)
    )
    county = _listed(_as(users["nanming_admin"]), "/admin/policy/domainevent/")
    assert here.pk in county and not county & {there.pk, everywhere.pk}
    province = _listed(_as(users["gz_admin"]), "/admin/policy/domainevent/")
    assert {here.pk, there.pk, everywhere.pk} <= province


# --- online applications: routed to the online centre of the applicant's region -----------


def _apply(county: str, serial: int) -> OnlineApplication:
    citizen = User.objects.create(
        username=f"scoping-{county}-{serial}",
        mobile=f"139{county[-3:]}{serial:05d}",
        role="citizen",
    )
    return online.submit(
        citizen,
        Business.objects.get(code="D01"),
        {"driver_id": _id(county, serial), "classes": "C1", "reason": online_rules.Reason.LOST},
        delivery_address="贵阳市南明区花果园大街1号",
    )


def test_an_application_goes_to_the_nearest_online_centre_of_the_applicants_region(
    demo: Any,
) -> None:
    assert _apply("520102", 2).region.code == "520102"  # Nanming has a service point
    assert _apply("520112", 3).region.code == "520100"  # Wudang has none: Guiyang's centre
    assert _apply("110105", 4).region.code == "520000"  # from outside: the province's centre


def test_only_staff_of_the_applicants_region_list_read_and_decide_it(
    users: dict[str, Any],
) -> None:
    nanming = _apply("520102", 5)
    clerk = _as(users["clerk"])  # Guanshanhu
    queue = clerk.get("/online/queue/").content.decode()
    assert nanming.reference not in queue
    assert clerk.get(f"/online/a/{nanming.reference}/").status_code == 404
    assert clerk.get(f"/api/v1/online/applications/{nanming.reference}").status_code == 404
    decided = clerk.post(f"/online/a/{nanming.reference}/act/", {"action": "under_review"})
    assert decided.status_code == 403
    nanming.refresh_from_db()
    assert nanming.status == online_rules.Status.SUBMITTED

    county = _as(users["nanming_admin"])
    assert nanming.reference in county.get("/online/queue/").content.decode()
    assert county.get(f"/online/a/{nanming.reference}/").status_code == 200
    assert county.get(f"/api/v1/online/applications/{nanming.reference}").status_code == 200
    county.post(f"/online/a/{nanming.reference}/act/", {"action": "under_review"})
    nanming.refresh_from_db()
    assert nanming.status == online_rules.Status.UNDER_REVIEW


def test_an_application_of_the_provinces_centre_is_for_province_level_staff(
    users: dict[str, Any],
) -> None:
    outside = _apply("110105", 6)
    assert (
        outside.reference not in _as(users["nanming_admin"]).get("/online/queue/").content.decode()
    )
    assert _as(users["nanming_admin"]).get(f"/online/a/{outside.reference}/").status_code == 404
    assert outside.reference in _as(users["gz_admin"]).get("/online/queue/").content.decode()
