"""ISSUE 17 item 6: every staff view of a citizen's personal data is audited (who, what, when,
why) through audit.services.record_view; a full mobile number is shown only on a "show full
number" action with a reason, itself audited; a citizen seeing their own data leaves no staff
entry; plates are masked on staff lists."""

# ruff: noqa: F811 - the shared booking fixtures are imported, then asked for by name
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.booking.conftest import citizen, make_citizen, make_id, make_slot  # noqa: F401
from trafficdesk.accounts.models import User
from trafficdesk.audit import labels
from trafficdesk.audit.models import AuditEntry
from trafficdesk.audit.services import RevealRefused, record_view, reveal_mobile
from trafficdesk.booking import services as booking_services
from trafficdesk.booking.models import Booking, Slot
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import mask_mobile, mask_plate
from trafficdesk.deferral import services as deferral_services
from trafficdesk.deferral.models import DeferralWindow, VehicleRecord
from trafficdesk.hallqueue import services as hall_services
from trafficdesk.online import rules
from trafficdesk.online import services as online_services
from trafficdesk.online.models import OnlineApplication
from trafficdesk.sites.models import ServicePoint, Window

SHOWN = "personal_data.shown"
REVEALED = "personal_data.view"
GOOD_ID = "520115194912310029"  # Guanshanhu: the clerk's online centre answers it
MOBILE = "13912340077"


@pytest.fixture
def applicant(db: Any) -> User:
    return User.objects.create(username="citizen-pd1", mobile="13912340076", role="citizen")


@pytest.fixture
def application(demo: Any, applicant: User) -> OnlineApplication:
    return online_services.submit(
        applicant,
        Business.objects.get(code="D01"),
        {"driver_id": GOOD_ID, "classes": "C1", "reason": rules.Reason.LOST},
        delivery_address="贵阳市南明区花果园大街1号",
        delivery_mobile=MOBILE,
    )


@pytest.fixture
def booking(citizen: User, make_slot: Any) -> Booking:
    return booking_services.book(citizen, make_slot().pk, ["P01"], make_id(4711))


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _shown(actor: User, subject: Any = None) -> list[AuditEntry]:
    found = AuditEntry.objects.filter(action=SHOWN, actor_label=actor.get_username())
    if subject is not None:
        found = found.filter(object_type=subject._meta.label_lower, object_id=str(subject.pk))
    return list(found)


# --- every page and API view by staff: exactly one entry naming actor and subject ---------


def test_staff_viewing_the_online_application_page_and_api_is_audited_once_each(
    users: dict[str, Any], application: OnlineApplication
) -> None:
    clerk = users["clerk"]
    client = _logged_in(clerk)
    page = client.get(reverse("online:detail", args=[application.reference]))
    assert page.status_code == 200
    body = page.content.decode()
    assert MOBILE not in body and mask_mobile(MOBILE) in body, "masked by default"
    [entry] = _shown(clerk, application)
    assert entry.actor == clerk and entry.detail["purpose"] == "online.detail"
    assert "delivery_mobile" in entry.detail["fields"] and entry.at is not None

    api = client.get(f"/api/v1/online/applications/{application.reference}")
    assert api.status_code == 200
    entries = _shown(clerk, application)
    assert len(entries) == 2 and {e.detail["purpose"] for e in entries} == {
        "online.detail",
        "online.api.detail",
    }


def test_staff_viewing_the_booking_page_and_api_is_audited_once_each(
    users: dict[str, Any], booking: Booking
) -> None:
    clerk = users["clerk"]
    client = _logged_in(clerk)
    page = client.get(reverse("booking:detail", args=[booking.token]))
    assert page.status_code == 200
    body = page.content.decode()
    assert booking.holder.mobile not in body and mask_mobile(booking.holder.mobile) in body
    [entry] = _shown(clerk, booking)
    assert entry.detail["purpose"] == "booking.detail"
    assert client.get(f"/api/v1/bookings/{booking.token}").status_code == 200
    assert len(_shown(clerk, booking)) == 2


def test_the_deferral_report_is_one_entry_per_view_with_the_count_and_masked_plates(
    users: dict[str, Any],
) -> None:
    admin = users["gz_admin"]
    window = DeferralWindow.objects.get()
    today = timezone.localdate()
    deferral_services.announce_end(admin, window, today - timedelta(days=1), grace_days=5)
    rows = deferral_services.ending_soon(admin, 7)
    assert len(rows) > 1
    client = _logged_in(admin)
    before = AuditEntry.objects.filter(action=SHOWN).count()
    page = client.get("/deferral/report/?days=7")
    assert page.status_code == 200
    entries = list(AuditEntry.objects.filter(action=SHOWN))
    assert len(entries) == before + 1, "one entry per report view, not one per row"
    entry = entries[0]
    assert entry.actor == admin and entry.detail["count"] == len(rows)
    assert entry.detail["purpose"] == "deferral.report"
    body = page.content.decode()
    plates = [r.who for r in rows if r.kind == "inspection"]
    assert plates
    for plate in plates:
        assert plate not in body and mask_plate(plate) in body
    assert client.get("/api/v1/deferral/ending-soon", {"days": 7}).status_code == 200
    assert AuditEntry.objects.filter(action=SHOWN).count() == before + 2
    assert VehicleRecord.objects.exists()


def test_calling_a_booked_ticket_at_the_console_is_audited(
    users: dict[str, Any],
    citizen: User,
) -> None:
    hall = ServicePoint.objects.select_related("region").get(code="GY-HALL-01")
    p01 = Business.objects.select_related("category").get(code="P01")
    now = timezone.now()
    slot = Slot.objects.create(
        service_point=hall,
        category=p01.category,
        starts_at=now + timedelta(minutes=10),
        ends_at=now + timedelta(minutes=70),
        capacity_minutes=100,
        capacity_people=5,
        priority_release_at=now - timedelta(hours=1),
    )
    made = booking_services.book(citizen, slot.pk, ["P01"], make_id(4712))
    Slot.objects.filter(pk=slot.pk).update(starts_at=now - timedelta(minutes=5))
    hall_services.check_in_booking(hall, made.token)
    window = Window.objects.get(service_point=hall, number=3)
    client = _logged_in(users["clerk"])
    client.post("/hall/console/call/", {"window": window.pk}, HTTP_HX_REQUEST="true")
    [entry] = _shown(users["clerk"], made)
    assert entry.detail["purpose"] == "hall.console.call"


def test_the_checkpoint_registrations_view_is_audited_once(users: dict[str, Any]) -> None:
    officer = users["officer"]
    before = AuditEntry.objects.filter(action="checkpoint.view").count()
    page = _logged_in(officer).get("/checkpoints/GY-N-TOLL/console/")
    assert page.status_code == 200
    assert (
        AuditEntry.objects.filter(action="checkpoint.view", actor_label="officer").count()
        == before + 1
    )


# --- the reveal ---------------------------------------------------------------------------


def test_the_full_number_is_shown_only_after_a_reason_and_is_audited(
    users: dict[str, Any], application: OnlineApplication, booking: Booking
) -> None:
    clerk = users["clerk"]
    client = _logged_in(clerk)
    url = reverse("online:detail", args=[application.reference])
    assert 'data-testid="reveal-form"' in client.get(url).content.decode()

    refused = client.post(url, {"reveal": "mobile", "reason": "   "}).content.decode()
    assert MOBILE not in refused and 'data-testid="reveal-problem"' in refused
    assert not AuditEntry.objects.filter(action=REVEALED).exists()

    shown = client.post(url, {"reveal": "mobile", "reason": "courier cannot reach"}).content
    assert MOBILE in shown.decode()
    [entry] = AuditEntry.objects.filter(action=REVEALED)
    assert entry.actor == clerk and entry.object_id == str(application.pk)
    assert entry.detail["reason"] == "courier cannot reach"

    booking_url = reverse("booking:detail", args=[booking.token])
    shown = client.post(booking_url, {"reveal": "mobile", "reason": "call about the visit"})
    assert booking.holder.mobile in shown.content.decode()
    assert AuditEntry.objects.filter(
        action=REVEALED, object_id=str(booking.pk), object_type="booking.booking"
    ).exists()


def test_reveal_mobile_refuses_without_a_reason(users: dict[str, Any], citizen: User) -> None:
    with pytest.raises(RevealRefused):
        reveal_mobile(users["clerk"], citizen, "")
    assert reveal_mobile(users["clerk"], citizen, "callback") == citizen.mobile


# --- the citizen's own data ---------------------------------------------------------------


def test_a_citizen_viewing_their_own_data_leaves_no_staff_entry(
    applicant: User,
    application: OnlineApplication,
    citizen: User,
    booking: Booking,
) -> None:
    own = _logged_in(applicant)
    page = own.get(reverse("online:detail", args=[application.reference])).content.decode()
    assert 'data-testid="reveal-form"' not in page
    own.get(f"/api/v1/online/applications/{application.reference}")
    holder = _logged_in(citizen)
    page = holder.get(reverse("booking:detail", args=[booking.token])).content.decode()
    assert 'data-testid="reveal-form"' not in page
    holder.get(f"/api/v1/bookings/{booking.token}")
    assert not AuditEntry.objects.filter(action__in=[SHOWN, REVEALED]).exists()
    assert record_view(applicant, application, ["form"], "online.detail") is None


# --- the auditor reads them in words ------------------------------------------------------


def test_the_auditor_sees_the_new_entries_with_plain_labels(
    users: dict[str, Any], application: OnlineApplication
) -> None:
    clerk = _logged_in(users["clerk"])
    clerk.get(reverse("online:detail", args=[application.reference]))
    clerk.post(
        reverse("online:detail", args=[application.reference]),
        {"reveal": "mobile", "reason": "courier"},
    )
    auditor = _logged_in(users["auditor"])
    auditor.cookies["django_language"] = "en"
    body = auditor.get("/audit/?action=personal_data").content.decode()
    assert f'data-action="{SHOWN}"' in body and f'data-action="{REVEALED}"' in body
    assert str(labels.ACTION_LABELS[SHOWN]) in body
    assert "online application page" in body and "because: courier" in body
    assert labels.action_label(SHOWN) != str(labels.OTHER_ACTION)


def test_the_new_labels_are_translated() -> None:
    from django.utils import translation

    with translation.override("zh-hans"):
        assert labels.action_label(SHOWN) == "查看了群众的个人信息"
        assert labels.action_label("checkpoint.view") == "查看了卡口登记信息"
        assert labels.summary_label("shown for booking.detail") == "查看位置：预约详情页"
        assert labels.summary_label("12 people listed for deferral.report") == (
            "列出 12 人，位置：延期即将到期报表"
        )
        assert labels.summary_label("viewed unmasked mobile number: 回访") == (
            "查看了完整手机号码，原因：回访"
        )
