"""Who may do what, driven from one table through both doors: for every role, the web page
and the API answer alike (allowed, or refused with 401/403/404 or a redirect to a login
page), as the table says; no answer is ever a 500.

A route missing from the table fails `test_every_named_page_is_classified`, so a new page
must be classified here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tests.booking.conftest import PERMIT, make_id
from trafficdesk.accounts import realname
from trafficdesk.accounts.access import SYSTEM
from trafficdesk.accounts.models import User
from trafficdesk.booking.models import (
    Booking,
    BookingEvent,
    BookingEventKind,
    PriorityClaim,
    RushOffer,
    RushRequest,
    RushWindow,
    Slot,
)
from trafficdesk.booking.services import book
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import uscc_check_char
from trafficdesk.enterprises import services as enterprises
from trafficdesk.enterprises.models import Enterprise
from trafficdesk.hallqueue import services as hall
from trafficdesk.online.services import submit
from trafficdesk.sites.models import ServicePoint, Window

ROLES = (
    "anonymous",
    "citizen",
    "other_citizen",
    "agent",
    "clerk",
    "manager",
    "gz_admin",
    "nanming_admin",
    "officer",
    "auditor",
)
PUBLIC = frozenset(ROLES)
LOGGED_IN = PUBLIC - {"anonymous"}
#: "agent": a citizen account approved as the agent of a verified enterprise (in 520115)
CITIZENS = frozenset({"citizen", "other_citizen", "agent"})
HALL = frozenset({"clerk", "manager"})
DESK = frozenset({"clerk", "manager", "gz_admin", "nanming_admin"})
ADMINS = frozenset({"gz_admin", "nanming_admin"})

Request = tuple[str, str, dict[str, Any] | None]  # method, path, body


@dataclass(frozen=True)
class Row:
    """One thing someone may do, through the page and/or the API, and who may."""

    name: str
    roles: frozenset[str]
    page: Request | None = None
    api: Request | None = None


def get(path: str) -> Request:
    return ("get", path, None)


def post(path: str, body: dict[str, Any] | None = None) -> Request:
    return ("post", path, body or {})


NOW = "{now_date}"
ROWS: tuple[Row, ...] = (
    # booking: citizens book; the holder and the hall's staff see and change a booking
    Row(
        "book a slot",
        CITIZENS,
        page=post(
            "/booking/slot/{slot}/?business=P01", {"id_number": "{id_page}", "business": "P01"}
        ),
        api=post(
            "/api/v1/bookings", {"slot": "{slot}", "businesses": ["P01"], "id_number": "{id_api}"}
        ),
    ),
    Row(
        "see a booking",
        frozenset({"citizen"}) | DESK - {"nanming_admin"},
        page=get("/booking/b/{token}/"),
        api=get("/api/v1/bookings/{token}"),
    ),
    Row(
        "cancel a booking",
        frozenset({"citizen"}) | DESK - {"nanming_admin"},
        page=post("/booking/b/{token}/cancel/"),
        api=post("/api/v1/bookings/{token}/cancel"),
    ),
    Row(
        "reschedule a booking",
        frozenset({"citizen"}) | DESK - {"nanming_admin"},
        page=post("/booking/b/{token}/reschedule/", {"slot": "{slot}"}),
        api=post("/api/v1/bookings/{token}/reschedule", {"slot": "{slot}"}),
    ),
    Row(
        "add a booking to the calendar (its holder's file)",
        frozenset({"citizen"}),
        page=get("/booking/b/{token}/booking.ics"),
    ),
    Row(
        "mark a no-show",
        HALL,
        page=post("/booking/b/{token}/no-show/"),
        api=post("/api/v1/bookings/{token}/no-show"),
    ),
    Row("my bookings", LOGGED_IN, page=get("/booking/mine/"), api=get("/api/v1/bookings")),
    Row("my account", LOGGED_IN, page=get("/accounts/me/"), api=get("/api/v1/accounts/me")),
    # real-name booking: a citizen account's own ID number and family members
    Row(
        "my real-name details",
        CITIZENS,
        page=get("/accounts/realname/"),
        api=get("/api/v1/accounts/identity"),
    ),
    Row("my family members", CITIZENS, api=get("/api/v1/accounts/family")),
    Row(
        "declare a family member",
        CITIZENS,
        page=post(
            "/accounts/realname/",
            {"what": "family", "id_number": "{id_page}", "name": "", "relation": "child"},
        ),
        api=post(
            "/api/v1/accounts/family", {"id_number": "{id_api}", "name": "", "relation": "child"}
        ),
    ),
    Row(
        "remove a family member (the account's own)",
        frozenset({"citizen"}),
        page=post("/accounts/realname/family/{member}/remove/"),
    ),
    # the policy: the province publishes it; a county sets its own phase and risk level
    Row(
        "publish the province's policy",
        frozenset({"gz_admin"}),
        page=post(
            "/admin/policy/policyversion/add/",
            {
                "document": "{policy_json}",
                "effective_from_0": "{today}",
                "effective_from_1": "08:00:00",
                "reason": "matrix",
            },
        ),
        api=post("/api/v1/policy/versions", {"document": "{policy}", "reason": "matrix"}),
    ),
    Row(
        "set the phase of Nanming",
        ADMINS,
        page=post(
            "/admin/policy/phasesetting/add/",
            {
                "region": "{nanming_pk}",
                "phase": 2,
                "effective_from_0": "{today}",
                "effective_from_1": "08:00:00",
                "reason": "matrix",
            },
        ),
        api=post("/api/v1/policy/phases", {"region": "520102", "phase": 2, "reason": "matrix"}),
    ),
    Row(
        "set the risk level of Yunyan",
        frozenset({"gz_admin"}),
        page=post("/regions/risk/520103/", {"level": "MEDIUM", "reason": "matrix"}),
        api=post("/api/v1/regions/520103/risk", {"level": "MEDIUM", "reason": "matrix"}),
    ),
    Row(
        "set the risk level of Nanming",
        ADMINS,
        page=post("/regions/risk/520102/", {"level": "MEDIUM", "reason": "matrix"}),
        api=post("/api/v1/regions/520102/risk", {"level": "MEDIUM", "reason": "matrix"}),
    ),
    # the hall: its clerks and manager serve; the manager plans with the region
    Row(
        "call the next ticket",
        HALL,
        page=post("/hall/console/call/", {"window": "{window}"}),
        api=post("/api/v1/hall/windows/{window}/call-next"),
    ),
    Row(
        "see a window's current ticket",
        HALL,
        page=get("/hall/console/?window={window}"),
        api=get("/api/v1/hall/windows/{window}/current"),
    ),
    Row(
        "plan the windows of the Guiyang hall",
        frozenset({"manager", "gz_admin"}),
        page=get("/planning/?point=GY-HALL-01"),
        api=get("/api/v1/planning/GY-HALL-01"),
    ),
    # deferral and the online centre
    Row(
        "look a driver up",
        DESK,
        page=post("/deferral/lookup/", {"query": "贵A12345"}),
        api=post("/api/v1/deferral/lookup", {"plate": "贵A12345"}),
    ),
    Row(
        "deferrals ending soon",
        ADMINS,
        page=get("/deferral/report/"),
        api=get("/api/v1/deferral/ending-soon"),
    ),
    Row(
        "apply online",
        CITIZENS,
        page=post("/online/apply/X02/", {"driver_id": "{id_page}", "plate": "贵A12345"}),
        api=post(
            "/api/v1/online/applications",
            {"business": "X02", "form": {"driver_id": "{id_api}", "plate": "贵A12345"}},
        ),
    ),
    Row(  # the application is routed to Guanshanhu's centre: not Nanming's staff
        "see an online application",
        frozenset({"citizen"}) | DESK - {"nanming_admin"},
        page=get("/online/a/{reference}/"),
        api=get("/api/v1/online/applications/{reference}"),
    ),
    Row(
        "my online applications",
        LOGGED_IN,
        page=get("/online/mine/"),
        api=get("/api/v1/online/applications"),
    ),  # fmt: skip
    # enterprises: their agents keep the fleet; staff of its region verify it; the region's
    # administrators grant priority classes; claims are reviewed online and at the window
    Row(
        "see an enterprise's fleet",
        frozenset({"agent"}),
        page=get("/enterprises/{enterprise}/"),
        api=get("/api/v1/enterprises/{enterprise}/vehicles"),
    ),
    Row("my enterprises", CITIZENS, page=get("/enterprises/")),
    Row(
        "the online applications of a fleet",
        frozenset({"agent"}),
        page=get("/online/fleet/{enterprise}/"),
        api=get("/api/v1/enterprises/{enterprise}/online-applications"),
    ),
    Row(
        "the priority bookings of a fleet",
        frozenset({"agent"}),
        page=get("/booking/fleet/{enterprise}/"),
    ),
    Row("enterprises to verify", DESK, page=get("/enterprises/review/")),
    Row(
        "a claim's evidence at the Guiyang hall",
        DESK - {"nanming_admin"},
        page=get("/booking/claims/{claim}/evidence/"),
    ),
    Row(
        "add a vehicle to an enterprise's fleet",
        frozenset({"agent"}),
        api=post(
            "/api/v1/enterprises/{enterprise}/vehicles",
            {"plate": "贵A54321", "vehicle_type": "货车", "use": "freight"},
        ),
    ),
    Row(
        "ask to act for an enterprise",
        CITIZENS,
        api=post("/api/v1/enterprises/join", {"uscc": "{uscc}"}),
    ),
    Row(
        "verify an enterprise of Guanshanhu",
        DESK - {"nanming_admin"},
        api=post("/api/v1/enterprises/{enterprise}/verification", {"approve": True}),
    ),
    Row(
        "grant a priority class to an enterprise of Guanshanhu",
        frozenset({"gz_admin"}),
        api=post(
            "/api/v1/enterprises/{enterprise}/grants",
            {"applicant_class": "GREEN", "valid_until": "{next_month}", "reason": "matrix"},
        ),
    ),
    Row("the claim review queue", DESK, page=get("/booking/claims/"), api=get("/api/v1/claims")),
    Row(
        "review a claim at the Guiyang hall",
        DESK - {"nanming_admin"},
        api=post("/api/v1/claims/{claim}/review", {"accept": True}),
    ),
    Row(
        "verify a ticket's claim at the window",
        HALL,
        api=post("/api/v1/hall/tickets/{ticket}/claim", {"confirm": True}),
    ),
    # pages without an API counterpart
    Row("home", PUBLIC, page=get("/")),
    Row("service points", PUBLIC, page=get("/sites/")),
    Row("businesses", PUBLIC, page=get("/catalog/")),
    Row("what is open", PUBLIC, page=get("/open/?county=520115&business=P01")),
    Row("choose a booking", PUBLIC, page=get("/booking/")),
    Row(
        "offices offering a business",
        PUBLIC,
        page=get("/booking/places/?business=P01&county=520102"),
    ),
    Row(
        "an office's days and slots",
        PUBLIC,
        page=get("/booking/at/GY-HALL-01/?business=P01&county=520102"),
    ),
    Row("online catalogue", PUBLIC, page=get("/online/")),
    Row("checkpoint registration", PUBLIC, page=get("/c/GY-N-TOLL/")),
    Row("checkpoint origin chooser", PUBLIC, page=get("/checkpoints/GY-N-TOLL/origin/")),
    Row(
        "register at a checkpoint from another province",
        PUBLIC,
        page=post(
            "/c/GY-N-TOLL/",
            {
                "name": "张三",
                "id_number": "{id_page}",
                "mobile": "13912345678",
                "plate": "京A12345",
                "origin": "110105",
                "destination": "贵阳",
            },
        ),
        api=post(
            "/api/v1/checkpoints/GY-N-TOLL/registrations",
            {
                "name": "张三",
                "id_number": "{id_api}",
                "mobile": "13912345678",
                "plate": "京A12345",
                "origin": "110105",
                "destination": "贵阳",
            },
        ),
    ),
    # the kiosk issues tickets only when registered by the hall (tests/hallqueue/
    # test_kiosk_devices.py); without a kiosk cookie, only the hall's staff may use it
    Row("kiosk", HALL, page=get("/hall/GY-HALL-01/kiosk/")),
    Row(
        "take a walk-in ticket without a registered kiosk",
        HALL,
        page=post("/hall/GY-HALL-01/kiosk/", {"business": "P01"}),
        api=post("/api/v1/hall/GY-HALL-01/walk-in", {"business": "P01"}),
    ),
    Row("open a kiosk's pairing link", PUBLIC, page=get("/hall/GY-HALL-01/kiosk/pair/?code=x")),
    Row(
        "the Guiyang hall's kiosks",
        frozenset({"manager", "gz_admin"}),
        page=get("/hall/GY-HALL-01/kiosks/"),
        api=get("/api/v1/hall/GY-HALL-01/kiosks"),
    ),
    Row(
        "register a kiosk",
        frozenset({"manager", "gz_admin"}),
        page=post("/hall/GY-HALL-01/kiosks/", {"name": "矩阵取号机"}),
        api=post("/api/v1/hall/GY-HALL-01/kiosks", {"name": "矩阵取号机"}),
    ),
    Row(
        "switch a kiosk off",
        frozenset({"manager", "gz_admin"}),
        page=post("/hall/GY-HALL-01/kiosks/", {"do": "revoke", "kiosk": "{kiosk}"}),
        api=post("/api/v1/hall/kiosks/{kiosk}/revoke"),
    ),
    Row("display board", PUBLIC, page=get("/hall/GY-HALL-01/board/")),
    Row("display board panels", PUBLIC, page=get("/hall/GY-HALL-01/board/state/")),
    Row("my service point", HALL, page=get("/sites/mine/")),
    Row("window console", HALL, page=get("/hall/console/")),
    Row("my hall", frozenset({"manager"}), page=get("/hall/mine/")),
    Row(
        "the Guiyang hall's manager page",
        frozenset({"manager", "gz_admin"}),
        page=get("/hall/GY-HALL-01/manage/"),
    ),  # fmt: skip
    Row(
        "the Guiyang hall's live events (consoles, manager)",
        frozenset({"clerk", "manager", "gz_admin"}),
        page=get("/hall/GY-HALL-01/events/"),
    ),  # fmt: skip
    Row(
        "open or close a window",
        frozenset({"manager"}),
        page=post("/hall/GY-HALL-01/manage/", {"window": "{window}", "open": "1"}),
    ),  # fmt: skip
    Row("slot calendar", DESK, page=get("/booking/calendar/")),
    Row(
        "open a draw over the Guiyang hall's slots",
        frozenset({"manager", "gz_admin"}),
        page=post(
            "/booking/rush/open/",
            {
                "point": "GY-HALL-01",
                "business": "P01",
                "first_day": "{today}",
                "last_day": "{today}",
                "opens_at": "{today}T08:00",
                "closes_at": "{today}T09:00",
            },
        ),
    ),
    Row("draws", PUBLIC, page=get("/booking/rush/"), api=get("/api/v1/rush")),
    Row("a draw", PUBLIC, page=get("/booking/rush/{rush}/"), api=get("/api/v1/rush/{rush}")),
    Row(
        "a draw's published record",
        PUBLIC,
        page=get("/booking/rush/{rush}/draw.json"),
        api=get("/api/v1/rush/{rush}/draw.json"),
    ),
    Row(
        "add slots to a draw at the Guiyang hall",
        frozenset({"manager", "gz_admin"}),
        page=post(
            "/booking/rush/{rush}/change/",
            {"do": "add", "first_day": "{today}", "last_day": "{today}"},
        ),
        api=post("/api/v1/rush/{rush}/slots", {"slots_from": "{today}", "slots_until": "{today}"}),
    ),
    Row(
        "let a waiting-list offer pass (its applicant only)",
        frozenset({"citizen"}),
        page=post("/booking/rush/offers/{offer}/", {"accept": "0"}),
        api=post("/api/v1/rush/offers/{offer}/decline"),
    ),
    Row("online review queue", DESK, page=get("/online/queue/")),
    Row("file by telephone", DESK, page=get("/online/phone/D01/")),
    Row("planner", frozenset({"manager"}) | ADMINS, page=get("/planning/")),
    Row("risk levels", ADMINS, page=get("/regions/risk/")),
    Row("import risk levels", ADMINS, page=get("/regions/risk/import/")),
    Row("risk history of Nanming", ADMINS, page=get("/regions/risk/520102/")),
    Row("phases and policy", ADMINS, page=get("/open/overview/")),
    Row("dashboard", ADMINS, page=get("/dashboard/")),
    # the national view: a province-level administrator or auditor, not a county one
    Row("national view", frozenset({"gz_admin", "auditor"}), page=get("/national/")),
    Row("checkpoints", frozenset({"officer"}), page=get("/checkpoints/")),
    Row("checkpoint console", frozenset({"officer"}), page=get("/checkpoints/GY-N-TOLL/console/")),
    Row(
        "checkpoint arrivals stream",
        frozenset({"officer"}),
        page=get("/checkpoints/GY-N-TOLL/console/events/"),
    ),  # fmt: skip
    Row(
        "checkpoint export", frozenset({"officer"}), page=get("/checkpoints/GY-N-TOLL/export.csv")
    ),  # fmt: skip
    Row("audit log", frozenset({"auditor"}), page=get("/audit/")),
    # staff accounts: regional administrators, inside their region (Nanming is in both)
    Row(
        "staff accounts", ADMINS, page=get("/accounts/staff/"), api=get("/api/v1/accounts/staff")
    ),  # fmt: skip
    Row("add a staff member", ADMINS, page=get("/accounts/staff/new/")),
    Row(
        "a Nanming staff account",
        ADMINS,
        page=get("/accounts/staff/nanming_admin/"),
        api=get("/api/v1/accounts/staff/nanming_admin"),
    ),
    Row(
        "unlock a Nanming staff account",
        ADMINS,
        page=post("/accounts/staff/nanming_admin/unlock/"),
        api=post("/api/v1/accounts/staff/nanming_admin/unlock"),
    ),
    Row("change my password", LOGGED_IN - CITIZENS, page=get("/accounts/password/")),
    # the business catalogue is province-wide: a county administrator reads it, never edits
    Row(
        "add a business category",
        frozenset({"gz_admin"}),
        page=post(
            "/admin/catalog/businesscategory/add/",
            {"code": "MX", "name_zh": "矩阵", "name_en": "x"},
        ),
    ),
    Row("admin site", frozenset({"manager", "auditor"}) | ADMINS, page=get("/admin/")),
    # For the load balancer: anyone may ask, nobody needs to log in (core/health.py).
    Row("liveness check", PUBLIC, page=get("/healthz")),
    Row("readiness check", PUBLIC, page=get("/readyz")),
)

# URL names covered by the rows above through a parametrised path, or by dedicated tests.
COVERED_ELSEWHERE = {
    "set_language",
    # by the caller's address, not by role (METRICS_ALLOWED_IPS):
    # tests/core/test_health_and_metrics.py::test_metrics_answer_only_the_allowed_addresses
    "metrics",
    "accounts:staff-login",
    "accounts:citizen-login",
    "accounts:citizen-verify",
    "accounts:logout",
    # a POST that makes a hall's slots: tests/sites/test_slots_follow.py (a clerk gets 403)
    "booking:make-slots",
    # they change the account (deactivate, new password): tests/staff/test_staff_management.py
    "staff:active",
    "staff:reset-password",
    "online:act",
    "online:withdraw",  # the applicant's own; tests/online/test_pickers_and_progress.py
    "hallqueue:board-events",
    "booking:rush-events",  # public; tests/booking/test_rush_counter_stream.py
    # providers' delivery receipts, behind a secret token: tests/notify/test_gateways.py
    "notify:receipt-aliyun",
    "notify:receipt-tencent",
    "checkpoint:qr",
    "receipt",
}


def _names(resolver: URLResolver, prefix: str = "") -> set[str]:
    found = set()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in {"admin", "api"}:
                continue
            found |= _names(entry, f"{prefix}{entry.namespace}:" if entry.namespace else prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            found.add(prefix + entry.name)
    return found


def test_every_named_page_is_classified() -> None:
    from django.urls import resolve

    classified = set()
    for row in ROWS:
        if row.page is not None and not row.page[1].startswith("/admin/"):
            path = row.page[1].split("?")[0]
            for key in (
                "slot",
                "token",
                "window",
                "reference",
                "enterprise",
                "claim",
                "rush",
                "offer",
                "member",
            ):
                numeric = key in (
                    "slot",
                    "window",
                    "enterprise",
                    "claim",
                    "rush",
                    "offer",
                    "member",
                )
                path = path.replace("{" + key + "}", "1" if numeric else "x")
            classified.add(resolve(path).view_name)
    missing = _names(get_resolver()) - classified - COVERED_ELSEWHERE
    assert not missing, f"classify these routes in the matrix: {sorted(missing)}"


# --- the world the rows act on ------------------------------------------------------------------


@pytest.fixture
def world(users: dict[str, Any]) -> dict[str, Any]:
    """A slot, a booking and an online application of `citizen`, a called ticket at window
    3 of the Guiyang hall; and the values the rows' paths and bodies refer to."""
    from trafficdesk.policy.services import current_policy
    from trafficdesk.regions.models import Region

    citizen = User.objects.create(username="matrix-citizen", mobile="13900001234", role="citizen")
    other = User.objects.create(username="matrix-other", mobile="13900004321", role="citizen")
    p01 = Business.objects.get(code="P01")
    start = timezone.now() + timedelta(days=2)
    slot = Slot.objects.create(
        service_point=ServicePoint.objects.get(code="GY-HALL-01"),
        category=p01.category,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity_minutes=400,
        capacity_people=20,
        priority_release_at=start,
    )
    booking = book(citizen, slot.pk, ["P01"], make_id(41_000), notify=False)  # binds the ID
    member = realname.declare_family_member(citizen, make_id(41_003), "", "child")
    application = submit(
        citizen,
        Business.objects.get(code="X02"),
        {"driver_id": make_id(41_001), "plate": "贵A12345"},
    )
    window = Window.objects.select_related("service_point__region").get(
        service_point__code="GY-HALL-01", number=3
    )
    ticket = hall.walk_in(window.service_point, p01)
    kiosk, _code = hall.register_kiosk(SYSTEM, window.service_point, "矩阵停用")
    agent, enterprise, claim = _enterprise_world(citizen, slot)
    draw, offer = _draw_world(citizen, slot)
    policy = current_policy().model_dump(mode="json")
    return {
        "users": {**users, "citizen": citizen, "other_citizen": other, "agent": agent},
        "values": {
            "slot": slot.pk,
            "token": booking.token,
            "reference": application.reference,
            "window": window.pk,
            "policy": policy,
            "policy_json": json.dumps(policy),
            "nanming_pk": Region.objects.get(code="520102").pk,
            "today": timezone.localdate().isoformat(),
            "next_month": (timezone.localdate() + timedelta(days=30)).isoformat(),
            "enterprise": enterprise.pk,
            "uscc": enterprise.uscc,
            "claim": claim.pk,
            "ticket": ticket.pk,
            "kiosk": kiosk.pk,
            "member": member.pk,
            "rush": draw.pk,
            "offer": offer.pk,
        },
    }


def _draw_world(citizen: User, slot: Slot) -> tuple[RushWindow, RushOffer]:
    """A draw open at the Guiyang hall, and an allocated one whose waiting list offers
    `citizen` a place."""
    now = timezone.now()
    p01 = Business.objects.get(code="P01")
    draw = RushWindow.objects.create(
        service_point=slot.service_point,
        business=p01,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        seed="open",
    )
    done = RushWindow.objects.create(
        service_point=slot.service_point,
        business=p01,
        opens_at=now - timedelta(hours=3),
        closes_at=now - timedelta(hours=2),
        seed="done",
        status="allocated",
    )
    request = RushRequest.objects.create(
        rush=done,
        holder=citizen,
        id_digest="d" * 64,
        id_masked="5201**********1234",
        applied_on=timezone.localdate(),
        won=False,
        draw_rank=1,
    )
    offer = RushOffer.objects.create(
        request=request, slot=slot, offered_at=now, expires_at=now + timedelta(hours=6)
    )
    return draw, offer


def _enterprise_world(citizen: User, slot: Slot) -> tuple[User, Enterprise, PriorityClaim]:
    """A verified enterprise of 520115 with its agent and a lorry, and a pending claim of
    `citizen` (an EMERGENCY booking with a permit)."""
    agent = User.objects.create(username="matrix-agent", mobile="13900005678", role="citizen")
    code = "91520115MA6H7K3Q1" + uscc_check_char("91520115MA6H7K3Q1")
    enterprise = enterprises.register(
        agent,
        uscc=code,
        name="矩阵物流",
        address="贵阳市观山湖区",
        contact_name="李四",
        contact_mobile="13900005678",
        document_name="licence.png",
        document=PERMIT.evidence,
    )
    enterprises.verify(User.objects.get(username="gz_admin"), enterprise, approve=True)
    enterprises.add_vehicle(agent, enterprise, plate="贵A12345", vehicle_type="货车", use="freight")
    realname.declare_family_member(citizen, make_id(41_002), "", "parent")
    emergency = book(citizen, slot.pk, ["V01"], make_id(41_002), "EMERGENCY", claim=PERMIT)
    return agent, enterprise, PriorityClaim.objects.get(booking=emergency)


def fill(value: Any, values: dict[str, Any], serial: int) -> Any:
    """Put the world's values (and fresh ID numbers) into a path or body."""
    if isinstance(value, dict):
        return {k: fill(v, values, serial) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values, serial) for v in value]
    if not isinstance(value, str):
        return value
    if value.startswith("{") and value.endswith("}") and value[1:-1] in values:
        return values[value[1:-1]]
    fresh = {"id_page": make_id(42_000 + serial), "id_api": make_id(43_000 + serial)}
    for key, found in {**values, **fresh}.items():
        value = value.replace("{" + key + "}", str(found))
    return value


def answer(client: Client, request: Request, values: dict[str, Any], serial: int) -> Any:
    method, path, body = request
    path = fill(path, values, serial)
    if method == "get":
        return client.get(path)
    filled = fill(body, values, serial)
    if path.startswith("/api/"):
        return client.post(path, json.dumps(filled), content_type="application/json")
    return client.post(path, filled)


def refused(response: Any) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code == 302 and "login" in response.get("Location", "")


@pytest.mark.parametrize("role", ROLES)
def test_matrix(world: dict[str, Any], role: str) -> None:
    wrong = []
    for serial, row in enumerate(ROWS):
        for door, request in (("page", row.page), ("api", row.api)):
            if request is None:
                continue
            client = Client()
            if role != "anonymous":
                client.force_login(world["users"][role])
            response = answer(client, request, world["values"], serial * 10 + len(door))
            assert response.status_code < 500, (row.name, door, response.status_code)
            if refused(response) == (role in row.roles):
                wrong.append((row.name, door, response.status_code))
    assert not wrong, f"{role}: {wrong}"


def test_the_page_and_the_api_agree_for_every_row_with_both() -> None:
    """The table itself: a row with both doors has one set of roles for both (this is what
    `test_matrix` holds each door to)."""
    both = [row for row in ROWS if row.page and row.api]
    assert len(both) >= 15
    assert {"book a slot", "publish the province's policy"} <= {row.name for row in both}


# --- the cases the one-owner issue named ------------------------------------------------------


def test_a_clerk_cannot_book_through_the_api_either(world: dict[str, Any]) -> None:
    client = Client()
    client.force_login(world["users"]["clerk"])
    response = client.post(
        "/api/v1/bookings",
        json.dumps(
            {"slot": world["values"]["slot"], "businesses": ["P01"], "id_number": make_id(1)}
        ),
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["detail"]
    assert "clerk" not in response.json()["detail"], "a role is named by its label, not its code"


def test_a_county_administrator_cannot_publish_the_province_policy(
    world: dict[str, Any],
) -> None:
    from trafficdesk.audit.models import AuditEntry

    client = Client()
    client.force_login(world["users"]["nanming_admin"])
    response = client.post(
        "/api/v1/policy/versions",
        json.dumps({"document": world["values"]["policy"], "reason": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert AuditEntry.objects.filter(
        action="policy.publish", outcome="denied", actor_label="nanming_admin"
    ).exists()


def test_a_barred_holder_is_refused_a_rush_with_the_date(world: dict[str, Any]) -> None:
    from trafficdesk.booking import rush

    citizen = world["users"]["citizen"]
    number = make_id(44_000)
    realname.declare_family_member(citizen, number, "", "spouse")
    slot = Slot.objects.get(pk=world["values"]["slot"])
    for _ in range(3):
        missed = book(citizen, slot.pk, ["P01"], number, notify=False)
        Booking.objects.filter(pk=missed.pk).update(status="no_show")
        missed.items.update(active=False)
        BookingEvent.objects.create(booking=missed, kind=BookingEventKind.NO_SHOW)
    now = timezone.now()
    window = RushWindow.objects.create(
        service_point=slot.service_point,
        business=Business.objects.get(code="P01"),
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        seed="s",
    )
    client = Client()
    client.force_login(citizen)
    response = client.post(
        f"/api/v1/rush/{window.pk}/apply",
        json.dumps({"id_number": number}),
        content_type="application/json",
    )
    assert response.status_code == 409 and response.json()["code"] == "holder.barred"
    until = (timezone.localtime(now) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert until in response.json()["detail"]
    assert not rush.RushRequest.objects.filter(rush=window).exists()


def test_cross_citizen_objects_are_refused(client: Client, world: dict[str, Any]) -> None:
    """IDOR: one citizen's booking, application and QR code are not another's."""
    client.force_login(world["users"]["other_citizen"])
    values = world["values"]
    for path in (
        f"/api/v1/bookings/{values['token']}",
        f"/api/v1/bookings/{values['token']}/qr.svg",
        f"/booking/b/{values['token']}/",
        f"/api/v1/online/applications/{values['reference']}",
        f"/online/a/{values['reference']}/",
    ):
        assert client.get(path).status_code in (403, 404), path


def test_a_clerk_without_a_service_point_serves_no_window(world: dict[str, Any]) -> None:
    """Point-bound actions fail closed: an unassigned clerk calls no ticket anywhere."""
    clerk = world["users"]["clerk"]
    User.objects.filter(pk=clerk.pk).update(service_point=None)
    client = Client()
    client.force_login(User.objects.get(pk=clerk.pk))
    response = client.post(f"/api/v1/hall/windows/{world['values']['window']}/call-next")
    assert response.status_code == 403 and response.json()["detail"]
    assert client.get("/hall/console/").status_code == 403


def test_a_superuser_is_not_a_citizen_for_the_sms_login(db: Any, sms_outbox: Any) -> None:
    from trafficdesk.accounts.services import OtpRejected, request_login_code, verify_login_code

    User.objects.create_superuser("root", password="x-very-long-password-1", mobile="13900007777")
    request_login_code("13900007777")
    code = next(text for phone, text in sms_outbox if phone == "13900007777").split("为 ")[1][:6]
    with pytest.raises(OtpRejected):
        verify_login_code("13900007777", code)
