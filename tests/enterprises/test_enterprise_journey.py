"""Enterprises and priority claims through the API a user would use (SPEC R4-R6, R2)."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tests.booking.conftest import make_citizen, make_id, make_slot  # noqa: F401 - fixtures
from trafficdesk.accounts.models import User
from trafficdesk.audit.models import AuditEntry
from trafficdesk.booking.models import Booking, CapacityRelease, EnterpriseDayUse, PriorityClaim
from trafficdesk.core.validators import uscc_check_char
from trafficdesk.core.vocabulary import ApplicantClass
from trafficdesk.dashboard.services import dashboard_data
from trafficdesk.enterprises.models import Enterprise
from trafficdesk.hallqueue import services as hall
from trafficdesk.online.models import OnlineApplication
from trafficdesk.regions.models import Region
from trafficdesk.regions.services import set_risk_level
from trafficdesk.sites.models import ServicePoint, Window

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
USCC = "91520115MA6H7K3Q1" + uscc_check_char("91520115MA6H7K3Q1")  # registered in 观山湖区


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def register(client: Client, uscc: str = USCC, document: bytes = PNG) -> Any:
    return client.post(
        "/api/v1/enterprises",
        {
            "uscc": uscc,
            "name": "贵阳复工物流有限公司",
            "address": "贵阳市观山湖区长岭北路1号",
            "contact_name": "张三",
            "contact_mobile": "13800000001",
            "document": SimpleUploadedFile("licence.png", document, content_type="image/png"),
        },
    )


@pytest.fixture
def verified(users: dict[str, Any], make_citizen: Any) -> dict[str, Any]:  # noqa: F811
    """A freight enterprise, verified, holding RESUMPTION for a month, with two lorries."""
    manager = make_citizen()
    agent = logged_in(manager)
    created = register(agent)
    assert created.status_code == 201, created.content
    enterprise = created.json()
    assert enterprise["status"] == "pending" and enterprise["region"] == "520115"
    admin = logged_in(users["gz_admin"])
    assert (
        admin.post(
            f"/api/v1/enterprises/{enterprise['id']}/verification",
            {"approve": True, "note": "营业执照已核验"},
            content_type="application/json",
        ).json()["status"]
        == "verified"
    )
    until = (timezone.localdate() + timedelta(days=30)).isoformat()
    granted = admin.post(
        f"/api/v1/enterprises/{enterprise['id']}/grants",
        {"applicant_class": "RESUMPTION", "valid_until": until, "reason": "复工复产运输企业"},
        content_type="application/json",
    )
    assert granted.status_code == 201, granted.content
    lorries = [
        agent.post(
            f"/api/v1/enterprises/{enterprise['id']}/vehicles",
            {"plate": plate, "vehicle_type": "重型厢式货车", "use": "freight"},
            content_type="application/json",
        ).json()["id"]
        for plate in ("贵A12345", "贵A23456")
    ]
    return {"id": enterprise["id"], "manager": manager, "agent": agent, "lorries": lorries}


def book(client: Client, slot: int, applicant_class: str, **proof: Any) -> Any:
    return client.post(
        "/api/v1/bookings",
        {
            "slot": slot,
            "businesses": ["P01"],
            "id_number": proof.pop("id_number", None) or make_id(),
            "applicant_class": applicant_class,
            **proof,
        },
        content_type="application/json",
    )


def test_an_agent_books_for_two_lorries_in_the_granted_class(
    verified: dict[str, Any],
    make_slot: Any,  # noqa: F811
) -> None:
    slot = make_slot(people=5)
    agent_id = make_id()  # the agent's own ID number, for every vehicle of the visit
    for lorry in verified["lorries"]:
        answer = book(verified["agent"], slot.pk, "RESUMPTION", vehicle=lorry, id_number=agent_id)
        assert answer.status_code == 201, answer.content
        assert answer.json()["claim_status"] == "granted"
        assert answer.json()["claim_status_label"]
    again = book(
        verified["agent"], slot.pk, "RESUMPTION", vehicle=verified["lorries"][0], id_number=agent_id
    )
    assert again.status_code == 409 and again.json()["code"] == "booking.duplicate"
    day = timezone.localdate(slot.starts_at)
    assert EnterpriseDayUse.objects.get(enterprise_id=verified["id"], day=day).used == 2
    grant = Enterprise.objects.get(pk=verified["id"]).grants.get()
    assert AuditEntry.objects.filter(action="enterprise.grant", object_id=str(grant.pk)).exists()
    use = dashboard_data(Region.objects.get(code="520100"))
    assert use["priority_by_enterprise"] == {"贵阳复工物流有限公司": 2}
    assert use["priority_by_class"] == {str(ApplicantClass.RESUMPTION.label): 2}
    page = logged_in(User.objects.get(username="gz_admin")).get("/dashboard/?region=520100")
    assert "贵阳复工物流有限公司" in page.content.decode()


def test_a_class_the_enterprise_does_not_hold_is_refused_with_the_way_forward(
    verified: dict[str, Any],
    make_slot: Any,  # noqa: F811
) -> None:
    slot = make_slot(people=5)
    refused = book(verified["agent"], slot.pk, "EMERGENCY", vehicle=verified["lorries"][0])
    assert refused.status_code == 409
    assert refused.json()["code"] == "claim.not_granted"
    assert "辖区管理员" in refused.json()["detail"]  # the way forward, in the default language
    assert not Booking.objects.filter(slot=slot).exists()


def test_a_priority_class_without_proof_is_refused(
    make_citizen: Any,  # noqa: F811
    make_slot: Any,  # noqa: F811
) -> None:
    refused = book(logged_in(make_citizen()), make_slot().pk, "EMERGENCY")
    assert refused.status_code == 409 and refused.json()["code"] == "claim.required"


def test_someone_elses_fleet_cannot_be_used(
    verified: dict[str, Any],
    make_citizen: Any,  # noqa: F811
    make_slot: Any,  # noqa: F811
) -> None:
    stranger = logged_in(make_citizen())
    refused = book(stranger, make_slot().pk, "RESUMPTION", vehicle=verified["lorries"][0])
    assert refused.status_code == 409 and refused.json()["code"] == "claim.vehicle"
    assert stranger.get(f"/api/v1/enterprises/{verified['id']}/vehicles").status_code == 403


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("uscc", {"uscc": USCC[:-1] + ("0" if USCC[-1] != "0" else "1")}),
        ("document", {"document": b"GIF89a not a licence"}),
    ],
)
def test_bad_registrations_name_the_field_and_store_nothing(
    make_citizen: Any,  # noqa: F811
    field: str,
    change: dict[str, Any],
) -> None:
    before = Enterprise.objects.count()  # the demo's enterprise
    answer = register(logged_in(make_citizen()), **change)
    assert answer.status_code == 422 and answer.json()["field"] == field
    assert Enterprise.objects.count() == before


def test_a_plate_in_another_fleet_is_refused(
    verified: dict[str, Any],
    make_citizen: Any,  # noqa: F811
) -> None:
    other = logged_in(make_citizen())
    uscc = "91520115MA6H7K3Q2" + uscc_check_char("91520115MA6H7K3Q2")
    second = register(other, uscc=uscc).json()["id"]
    answer = other.post(
        f"/api/v1/enterprises/{second}/vehicles",
        {"plate": "贵A12345", "vehicle_type": "货车", "use": "freight"},
        content_type="application/json",
    )
    assert answer.status_code == 422 and answer.json()["field"] == "plate"
    assert "其他单位" in answer.json()["detail"]


def test_the_fair_share_stops_one_enterprise_taking_the_whole_hold(
    verified: dict[str, Any],
    make_slot: Any,  # noqa: F811
    settings: Any,
) -> None:
    settings.PRIORITY_BOOKINGS_PER_ENTERPRISE_DAY = 1
    slot = make_slot(people=5, reserved=60, release_in_hours=24)
    assert (
        book(verified["agent"], slot.pk, "RESUMPTION", vehicle=verified["lorries"][0]).status_code
        == 201
    )
    refused = book(verified["agent"], slot.pk, "RESUMPTION", vehicle=verified["lorries"][1])
    assert refused.status_code == 409 and refused.json()["code"] == "claim.share"
    assert Booking.objects.filter(slot=slot).count() == 1


def evidence_booking(client: Client, slot: int) -> Any:
    return book(
        client,
        slot,
        "EMERGENCY",
        permit_number="急救许可 2020-001",
        evidence_base64=base64.b64encode(PNG).decode(),
    )


def test_an_unproven_emergency_claim_is_downgraded_at_the_window_and_the_citizen_is_told(
    users: dict[str, Any],
    make_citizen: Any,  # noqa: F811
    make_slot: Any,  # noqa: F811
    sms_outbox: Any,
) -> None:
    citizen = make_citizen()
    slot = make_slot(people=5, hours_ahead=1)
    booked = evidence_booking(logged_in(citizen), slot.pk)
    assert booked.status_code == 201, booked.content
    assert booked.json()["claim_status"] == "pending"
    point = ServicePoint.objects.get(code="GY-HALL-01")
    ticket = hall.check_in_booking(point, booked.json()["token"], now=slot.starts_at)
    assert ticket.applicant_class == "EMERGENCY"
    clerk = logged_in(users["clerk"])
    blank = clerk.post(
        f"/api/v1/hall/tickets/{ticket.pk}/claim",
        {"confirm": False},
        content_type="application/json",
    )
    assert blank.status_code == 409  # a downgrade says why
    answer = clerk.post(
        f"/api/v1/hall/tickets/{ticket.pk}/claim",
        {"confirm": False, "reason": "未能出示急救车辆证明"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    ticket.refresh_from_db()
    booking = Booking.objects.get(token=booked.json()["token"])
    assert ticket.applicant_class == "GENERAL" and booking.applicant_class == "GENERAL"
    assert PriorityClaim.objects.get(booking=booking).status == "downgraded"
    assert any(phone == citizen.mobile and "优先资格未能核实" in text for phone, text in sms_outbox)


def test_repeated_false_claims_bar_priority_until_a_date(
    users: dict[str, Any],
    make_citizen: Any,  # noqa: F811
    make_slot: Any,  # noqa: F811
    settings: Any,
) -> None:
    settings.FALSE_CLAIMS_LIMIT = 1
    citizen = logged_in(make_citizen())
    number = make_id()
    answer = citizen.post(
        "/api/v1/bookings",
        {
            "slot": make_slot().pk,
            "businesses": ["P01"],
            "id_number": number,
            "applicant_class": "EMERGENCY",
            "permit_number": "X-1",
            "evidence_base64": base64.b64encode(PNG).decode(),
        },
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    claim = PriorityClaim.objects.get(booking__token=answer.json()["token"])
    reviewer = logged_in(users["clerk"])
    reviewed = reviewer.post(
        f"/api/v1/claims/{claim.pk}/review",
        {"accept": False, "reason": "证件照片与号码不符"},
        content_type="application/json",
    )
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "downgraded"
    again = citizen.post(
        "/api/v1/bookings",
        {
            "slot": make_slot().pk,
            "businesses": ["V01"],
            "id_number": number,
            "applicant_class": "EMERGENCY",
            "permit_number": "X-1",
            "evidence_base64": base64.b64encode(PNG).decode(),
        },
        content_type="application/json",
    )
    assert again.status_code == 409 and again.json()["code"] == "claim.barred"
    until = (timezone.localdate() + timedelta(days=settings.FALSE_CLAIMS_BAR_DAYS)).isoformat()
    assert until in again.json()["detail"]


def test_an_emergency_walk_in_in_a_high_risk_county_is_called_at_once_and_verified_at_the_window(
    users: dict[str, Any],
) -> None:
    set_risk_level(users["gz_admin"], Region.objects.get(code="520115"), "HIGH", reason="疫情")
    kiosk = logged_in(users["clerk"])  # the hall's staff issue tickets without a kiosk
    general = kiosk.post(
        "/api/v1/hall/GY-HALL-01/walk-in", {"business": "P01"}, content_type="application/json"
    )
    assert general.status_code == 409  # a high-risk county serves the general public no more
    emergency = kiosk.post(
        "/api/v1/hall/GY-HALL-01/walk-in",
        {"business": "P01", "applicant_class": "EMERGENCY"},
        content_type="application/json",
    )
    assert emergency.status_code == 201, emergency.content  # no booking, no online review
    clerk = logged_in(users["clerk"])
    window = Window.objects.get(service_point__code="GY-HALL-01", number=1)  # the emergency one
    called = clerk.post(f"/api/v1/hall/windows/{window.pk}/call-next")
    assert called.status_code == 200 and called.json()["id"] == emergency.json()["id"]
    downgraded = clerk.post(
        f"/api/v1/hall/tickets/{emergency.json()['id']}/claim",
        {"confirm": False, "reason": "非急救车辆"},
        content_type="application/json",
    )
    assert downgraded.status_code == 200 and downgraded.json()["applicant_class"] == "GENERAL"
    assert AuditEntry.objects.filter(action="claim.downgrade").exists()


def vins(n: int) -> list[dict[str, str]]:
    return [{"vin": f"LGWEF4A5{i:09d}"} for i in range(n)]


def test_an_agent_applies_online_for_ten_new_lorries_at_once(
    verified: dict[str, Any],
    make_citizen: Any,  # noqa: F811
) -> None:
    path = f"/api/v1/enterprises/{verified['id']}/online-applications"
    body = {
        "business": "V07",
        "vehicles": vins(10),
        "delivery_address": "贵阳市观山湖区长岭北路1号 车队办公室",
        "delivery_mobile": "13800000001",
    }
    bad = {**body, "vehicles": [*vins(3), {"vin": "LGWEF4A5O00000003"}, *vins(2)]}
    refused = verified["agent"].post(path, bad, content_type="application/json")
    assert refused.status_code == 422 and "rows[4].vin" in refused.json()["errors"]
    assert not OnlineApplication.objects.exists()  # all or nothing
    stranger = logged_in(make_citizen())
    assert stranger.post(path, body, content_type="application/json").status_code == 403
    filed = verified["agent"].post(path, body, content_type="application/json")
    assert filed.status_code == 201, filed.content
    assert len(filed.json()) == 10
    listed = verified["agent"].get(path).json()
    assert {a["reference"] for a in listed} == {a["reference"] for a in filed.json()}
    enterprise = Enterprise.objects.get(pk=verified["id"])
    owners = set(OnlineApplication.objects.values_list("form_data__owner_id", flat=True))
    assert owners == {enterprise.uscc}
    assert stranger.get(path).status_code == 403


def test_the_fleet_page_files_one_vin_per_line_and_names_a_bad_line(
    verified: dict[str, Any],
) -> None:
    page = f"/online/fleet/{verified['id']}/"
    form = {
        "business": "V07",
        "delivery_address": "贵阳市观山湖区长岭北路1号 车队办公室",
        "delivery_mobile": "13800000001",
    }
    bad = verified["agent"].post(
        page, {**form, "vehicles": "LGWEF4A5000000001\nLGWEF4A5O00000002\n"}
    )
    assert bad.status_code == 422 and 'data-field="rows[2].vin"' in bad.content.decode()
    assert not OnlineApplication.objects.exists()
    good = verified["agent"].post(
        page, {**form, "vehicles": "LGWEF4A5000000001\n\nLGWEF4A5000000002\nLGWEF4A5000000003"}
    )
    assert good.status_code == 302
    assert OnlineApplication.objects.filter(enterprise_id=verified["id"]).count() == 3
    listed = verified["agent"].get(page).content.decode()
    assert listed.count("/online/a/") == 3


def test_a_downgrade_without_general_room_moves_the_booking_and_releases_the_place_later(
    users: dict[str, Any],
    make_citizen: Any,  # noqa: F811
    make_slot: Any,  # noqa: F811
    sms_outbox: Any,
) -> None:
    held_only = make_slot(people=5, reserved=100, release_in_hours=24)  # all held for priority
    make_slot(people=5, hours_ahead=72)  # a later slot with general room
    citizen = make_citizen()
    booked = evidence_booking(logged_in(citizen), held_only.pk)
    assert booked.status_code == 201, booked.content
    claim = PriorityClaim.objects.get(booking__token=booked.json()["token"])
    reviewed = logged_in(users["clerk"]).post(
        f"/api/v1/claims/{claim.pk}/review",
        {"accept": False, "reason": "证明无法核实"},
        content_type="application/json",
    )
    assert reviewed.status_code == 200, reviewed.content
    booking = Booking.objects.get(pk=claim.booking_id)
    assert booking.slot_id != held_only.pk and booking.moves == 1
    assert booking.applicant_class == "GENERAL" and booking.general_minutes == booking.minutes
    assert CapacityRelease.objects.filter(slot=held_only, released_at__isnull=True).count() == 1
    assert any("预约已改至" in text for phone, text in sms_outbox if phone == citizen.mobile)


def test_bad_proofs_and_plates_name_the_field_and_store_nothing(
    verified: dict[str, Any],
    users: dict[str, Any],
    make_citizen: Any,  # noqa: F811
    make_slot: Any,  # noqa: F811
) -> None:
    slot = make_slot(people=5)
    gif = base64.b64encode(b"GIF89a not a permit").decode()
    citizen = logged_in(make_citizen())
    refused = book(citizen, slot.pk, "EMERGENCY", permit_number="P-1", evidence_base64=gif)
    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["field"]) == ("claim.evidence", "evidence")
    plate = verified["agent"].post(
        f"/api/v1/enterprises/{verified['id']}/vehicles",
        {"plate": "贵I12345", "vehicle_type": "货车", "use": "freight"},
        content_type="application/json",
    )
    assert plate.status_code == 422 and plate.json()["field"] == "plate"
    grant = Enterprise.objects.get(pk=verified["id"]).grants.get()
    revoked = logged_in(users["gz_admin"]).post(
        f"/api/v1/enterprises/grants/{grant.pk}/revocation",
        {"reason": "复工完成"},
        content_type="application/json",
    )
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    lapsed = book(verified["agent"], slot.pk, "RESUMPTION", vehicle=verified["lorries"][0])
    assert lapsed.status_code == 409
    assert (lapsed.json()["code"], lapsed.json()["field"]) == ("claim.not_granted", "vehicle")
    assert not Booking.objects.filter(slot=slot).exists()
    assert not PriorityClaim.objects.exists()
