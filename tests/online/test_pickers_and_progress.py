"""Online applications as the applicant reads them (issue 15, item 5): the progress stepper, the
licence-class and reason pickers (the page and the API refuse the same bad values with the same
codes), the delivery shown back, and every status by its label."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from trafficdesk.accounts.models import User
from trafficdesk.catalog.models import Business
from trafficdesk.core.validators import LICENCE_CLASSES
from trafficdesk.online import rules, services
from trafficdesk.online.models import OnlineApplication
from trafficdesk.online.rules import Reason, Status, Step

GOOD_ID = "520115194912310029"  # Guanshanhu: the clerk's online centre answers it
ADDRESS = "贵阳市南明区花果园大街1号 3栋 502"
MOBILE = "13912340001"
API = "/api/v1/online/applications"


def zh(message: str, context: str | None = None) -> str:
    with translation.override("zh-hans"):
        return pgettext(context, message) if context else gettext(message)


@pytest.fixture
def applicant(db: Any) -> User:
    return User.objects.create(username="applicant", mobile=MOBILE, role="citizen")


@pytest.fixture
def d01(demo: Any) -> Business:
    return Business.objects.get(code="D01")


@pytest.fixture
def citizen(client: Client, applicant: User) -> Client:
    client.force_login(applicant)
    return client


def good_form(**changes: Any) -> dict[str, Any]:
    return {"driver_id": GOOD_ID, "classes": "C1", "reason": "lost", **changes}


def apply_d01(applicant: User, d01: Business, **changes: Any) -> OnlineApplication:
    return services.submit(
        applicant, d01, good_form(**changes), delivery_address=ADDRESS, delivery_mobile=MOBILE
    )


# --- the rules ---------------------------------------------------------------------------------


def states(status: Status, *, mailed: bool = True) -> list[tuple[str, str]]:
    return [(s.step.value, s.state) for s in rules.progress(status, mailed=mailed)]


def test_the_stepper_follows_the_status_for_a_mailed_document() -> None:
    order = [Step.SUBMITTED, Step.REVIEW, Step.MAKING, Step.MAILED, Step.RECEIVED]
    current = {
        Status.SUBMITTED: Step.SUBMITTED,
        Status.UNDER_REVIEW: Step.REVIEW,
        Status.NEEDS_MORE: Step.REVIEW,
        Status.APPROVED: Step.MAKING,
        Status.ISSUED: Step.MAKING,
        Status.SHIPPED: Step.MAILED,
    }
    for status, here in current.items():
        index = order.index(here)
        expected = [
            (step.value, "done" if i < index else "current" if i == index else "todo")
            for i, step in enumerate(order)
        ]
        assert states(status) == expected, status
    assert states(Status.DELIVERED) == [(step.value, "done") for step in order]
    assert states(Status.REJECTED) == []  # refused: shown as refused, not as progress


def test_the_stepper_of_a_business_with_nothing_to_mail_ends_at_done() -> None:
    assert states(Status.UNDER_REVIEW, mailed=False) == [
        ("submitted", "done"),
        ("review", "current"),
        ("done", "todo"),
    ]
    assert states(Status.APPROVED, mailed=False)[-1] == ("done", "current")
    assert states(Status.ISSUED, mailed=False) == [
        ("submitted", "done"),
        ("review", "done"),
        ("done", "done"),
    ]


def test_the_steps_read_as_on_12123() -> None:
    with translation.override("zh-hans"):
        labels = [s.label for s in rules.progress(Status.SUBMITTED, mailed=True)]
    assert labels == ["提交", "审核", "制证", "邮寄", "签收"]
    with translation.override("en"):
        english = [s.label for s in rules.progress(Status.SUBMITTED, mailed=True)]
    assert english == ["Submitted", "Review", "Making the document", "Mailed", "Received"]


def test_every_status_reason_and_licence_class_has_a_chinese_label() -> None:
    with translation.override("zh-hans"):
        for status in Status:
            assert rules.status_label(status) != status.value
            assert not rules.status_label(status).isascii(), status
        for reason in Reason:
            assert not str(reason.label).isascii(), reason
        assert tuple(rules.LICENCE_CLASS_LABELS) == LICENCE_CLASSES
        for code, label in rules.licence_class_choices():
            assert label.startswith(f"{code} ") and not label[len(code) + 1 :].isascii()
        assert rules.licence_classes_label("A2D") == "A2 重型牵引挂车、D 普通三轮摩托车"
    assert rules.status_label("no-such-status") == "—"


def test_every_business_asking_a_reason_has_its_own_list() -> None:
    asking = {code for code, form in rules.FORMS.items() if rules.REASON in form}
    assert asking == set(rules.REASONS)
    assert set(rules.reasons_for("D01")) == {Reason.LOST, Reason.STOLEN}


# --- the service and the API refuse the same values -----------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"reason": "遗失了"}, "reason", "reason.unknown"),  # free text is no longer accepted
        ({"reason": "damaged"}, "reason", "reason.unknown"),  # a reason of another business
        ({"reason": ["lost"]}, "reason", "reason.unknown"),
        ({"reason": ""}, "reason", "reason.missing"),
        ({"classes": "Z9"}, "classes", "licence.class"),
        ({"classes": ["C1", "Q"]}, "classes", "licence.class"),
        ({"classes": []}, "classes", "licence.missing"),
        ({"classes": ""}, "classes", "licence.missing"),
    ],
)
def test_the_api_refuses_a_bad_picker_value_naming_the_field(
    citizen: Client, d01: Business, changes: dict[str, Any], field: str, code: str
) -> None:
    body = {
        "business": "D01",
        "form": good_form(**changes),
        "delivery_address": ADDRESS,
        "delivery_mobile": MOBILE,
    }
    with translation.override("zh-hans"):
        response = citizen.post(API, body, content_type="application/json")
    assert response.status_code == 422, response.content
    problem = response.json()
    assert problem["code"] == "application.invalid"
    assert problem["error_codes"] == {field: code}
    assert set(problem["errors"]) == {field} and problem["errors"][field]
    assert not OnlineApplication.objects.exists()


def test_the_api_takes_the_pickers_values(citizen: Client, d01: Business) -> None:
    body = {
        "business": "D01",
        "form": good_form(classes=["D", "A2"], reason="stolen"),
        "delivery_address": ADDRESS,
        "delivery_mobile": MOBILE,
    }
    response = citizen.post(API, body, content_type="application/json")
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["status"] == "submitted"
    with translation.override("zh-hans"):
        assert out["status_label"] in {"已提交", zh("submitted", "online application status")}
    application = OnlineApplication.objects.get(reference=out["reference"])
    assert application.form_data == {"driver_id": GOOD_ID, "classes": "A2D", "reason": "stolen"}


def test_the_api_names_an_unknown_business_and_an_oversized_value(
    citizen: Client, demo: Any
) -> None:
    unknown = citizen.post(API, {"business": "ZZ9", "form": {}}, content_type="application/json")
    assert unknown.status_code == 422
    assert unknown.json()["error_codes"] == {"business": "business.unknown"}
    too_long = citizen.post(
        API,
        {"business": "D01", "form": good_form(), "delivery_address": "贵" * 201},
        content_type="application/json",
    )
    assert too_long.status_code == 422  # refused by the schema, never a 500
    assert "delivery_address" in json.dumps(too_long.json())


# --- the pages ---------------------------------------------------------------------------------


def test_the_apply_page_offers_pickers_with_labels(citizen: Client, d01: Business) -> None:
    with translation.override("zh-hans"):
        html = citizen.get("/online/apply/D01/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<select id="f-reason" name="reason"' in html
    assert (
        '<option value="lost">遗失</option>' in html
        and '<option value="stolen">被盗</option>' in html
    )
    assert 'value="damaged"' not in html  # not a reason to replace a lost licence
    assert html.count('type="checkbox" name="classes"') == len(LICENCE_CLASSES)
    assert 'value="C1"> C1 小型汽车' in html


def post_apply(client: Client, **changes: Any) -> Any:
    form = {
        "driver_id": GOOD_ID,
        "classes": ["A2", "D"],
        "reason": "lost",
        "delivery_address": ADDRESS,
        "delivery_mobile": MOBILE,
        **changes,
    }
    return client.post("/online/apply/D01/", form, HTTP_ACCEPT_LANGUAGE="zh-hans")


def test_the_page_refuses_what_the_api_refuses_and_keeps_the_answers(
    citizen: Client, d01: Business
) -> None:
    response = post_apply(citizen, reason="遗失了")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-field="reason"' in html and zh("Some fields are not valid.") in html
    # Everything typed is kept: the classes ticked, the address, the mobile; not the ID.
    assert 'value="A2" checked' in html and 'value="D" checked' in html
    assert 'value="C1" checked' not in html
    assert ADDRESS in html and f'value="{MOBILE}"' in html
    assert GOOD_ID not in html
    assert not OnlineApplication.objects.exists()

    no_class = post_apply(citizen, classes=[])
    assert no_class.status_code == 422 and 'data-field="classes"' in no_class.content.decode()

    filed = post_apply(citizen)
    assert filed.status_code == 302
    application = OnlineApplication.objects.get()
    assert application.form_data["classes"] == "A2D" and application.form_data["reason"] == "lost"


def test_the_application_page_shows_progress_labels_and_the_delivery(
    citizen: Client, applicant: User, d01: Business, users: dict[str, Any]
) -> None:
    application = apply_d01(applicant, d01)
    path = f"/online/a/{application.reference}/"
    html = citizen.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="stepper"' in html
    assert 'data-step="submitted" data-state="current" aria-current="step"' in html
    assert '<strong data-testid="status">已提交</strong>' in html
    assert ">submitted<" not in html and "D01" not in html.replace("/online/apply/D01/", "")
    assert "C1 小型汽车" in html and ">遗失<" in html
    assert ADDRESS in html and "139****0001" in html and MOBILE not in html

    clerk = users["clerk"]
    for step in (Status.UNDER_REVIEW, Status.APPROVED, Status.ISSUED):
        services.move(clerk, application, step)
    shipment = services.ship(clerk, application, "EMS", "EA123456789CN")
    services.add_tracking(
        shipment,
        status="in_transit",
        at=timezone.now(),
        location="贵阳邮件处理中心",
        source="staff",
    )
    html = citizen.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-step="mailed" data-state="current"' in html
    assert 'data-step="making" data-state="done"' in html
    assert '<dd data-testid="waybill">EA123456789CN</dd>' in html
    assert "运输中" in html and "贵阳邮件处理中心" in html

    english = citizen.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Making the document" in english and "Tracking number" in english


def test_a_refused_application_says_why_and_what_to_do(
    citizen: Client, applicant: User, d01: Business, users: dict[str, Any]
) -> None:
    application = apply_d01(applicant, d01)
    services.move(users["clerk"], application, Status.UNDER_REVIEW)
    services.move(users["clerk"], application, Status.REJECTED, note="身份证照片模糊")
    html = citizen.get(
        f"/online/a/{application.reference}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert 'data-testid="stepper"' not in html
    assert 'data-testid="refused"' in html and "身份证照片模糊" in html
    assert zh("Your application was not accepted.") in html
    assert 'href="/online/apply/D01/"' in html  # a way forward: apply again
    assert ">不予受理<" in html


def test_an_answer_kept_from_before_the_pickers_is_shown_as_it_was(
    citizen: Client, applicant: User, d01: Business
) -> None:
    application = apply_d01(applicant, d01)
    OnlineApplication.objects.filter(pk=application.pk).update(
        form_data={"driver_id": GOOD_ID, "classes": "C1", "reason": "驾驶证遗失"}
    )
    html = citizen.get(f"/online/a/{application.reference}/").content.decode()
    assert "驾驶证遗失" in html


def test_lists_and_queue_show_labels_never_raw_statuses(
    client: Client, applicant: User, d01: Business, users: dict[str, Any]
) -> None:
    application = apply_d01(applicant, d01)
    services.move(users["clerk"], application, Status.UNDER_REVIEW)
    services.move(users["clerk"], application, Status.NEEDS_MORE, note="请补充照片")
    client.force_login(applicant)
    mine = client.get("/online/mine/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">需补充材料<" in mine and ">needs_more<" not in mine
    client.force_login(users["clerk"])
    queue = client.get("/online/queue/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">需补充材料<" in queue and ">needs_more<" not in queue
    assert "小时" in queue
    detail = client.get(
        f"/online/a/{application.reference}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    # The clerk's buttons say what they do; the history names statuses by their labels.
    assert ">needs_more<" not in detail and ">under_review<" not in detail
    assert zh("Ask for more documents", "online application action") not in detail  # done


def test_the_notice_names_the_status_in_chinese(applicant: User, d01: Business) -> None:
    application = apply_d01(applicant, d01)
    assert (
        services.notice_text(application)
        == f"【交管服务】您的网上业务{application.reference}：已提交。"
    )
    with translation.override("en"):  # a clerk working in English still sends it in Chinese
        text = services.notice_text(application, "电话代办")
    assert text == f"【交管服务】您的网上业务{application.reference}：已提交（电话代办）。"


# --- withdrawing -------------------------------------------------------------------------------


def test_the_applicant_withdraws_after_confirming(
    citizen: Client, applicant: User, d01: Business
) -> None:
    application = apply_d01(applicant, d01)
    detail = f"/online/a/{application.reference}/"
    withdraw = f"/online/a/{application.reference}/withdraw/"
    assert f'href="{withdraw}"' in citizen.get(detail).content.decode()
    confirm = citizen.get(withdraw, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert confirm.status_code == 200 and 'data-testid="withdraw-confirm"' in (
        confirm.content.decode()
    )
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED  # asking is not doing
    assert citizen.post(withdraw).status_code == 302
    application.refresh_from_db()
    assert application.status == Status.WITHDRAWN
    html = citizen.get(detail, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="withdrawn"' in html and ">已撤回<" in html
    assert 'data-testid="stepper"' not in html and 'href="/online/apply/D01/"' in html


def test_no_withdrawing_once_the_review_has_started_on_the_page_and_the_api(
    citizen: Client, applicant: User, d01: Business, users: dict[str, Any]
) -> None:
    application = apply_d01(applicant, d01)
    services.move(users["clerk"], application, Status.UNDER_REVIEW)
    assert (
        f"/online/a/{application.reference}/withdraw/"
        not in citizen.get(f"/online/a/{application.reference}/").content.decode()
    )
    page = citizen.post(f"/online/a/{application.reference}/withdraw/", follow=True)
    assert (
        zh(
            "The review has started, so the application can no longer be withdrawn; "
            "wait for its answer."
        )
        in page.content.decode()
    )
    api = citizen.post(f"{API}/{application.reference}/withdraw")
    assert api.status_code == 409 and api.json()["code"] == "application.step"
    application.refresh_from_db()
    assert application.status == Status.UNDER_REVIEW


def test_only_the_applicant_withdraws(
    client: Client, applicant: User, d01: Business, users: dict[str, Any]
) -> None:
    application = apply_d01(applicant, d01)
    other = User.objects.create(username="other", mobile="13912340002", role="citizen")
    client.force_login(other)
    assert client.post(f"/online/a/{application.reference}/withdraw/").status_code == 404
    assert client.post(f"{API}/{application.reference}/withdraw").status_code == 404
    client.force_login(applicant)
    done = client.post(f"{API}/{application.reference}/withdraw")
    assert done.status_code == 200 and done.json()["status"] == Status.WITHDRAWN
    client.force_login(users["clerk"])
    queue = client.get("/online/queue/").content.decode()
    assert application.reference not in queue  # nothing left to review


# --- the telephone intake and the fleet page ---------------------------------------------------


def test_the_telephone_intake_uses_the_pickers_and_keeps_what_was_typed(
    client: Client, users: dict[str, Any], d01: Business
) -> None:
    client.force_login(users["clerk"])
    page = client.get("/online/phone/D01/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<select id="f-reason"' in page and 'name="classes"' in page
    refused = client.post(
        "/online/phone/D01/",
        {
            "caller_mobile": "13977778888",
            "driver_id": GOOD_ID,
            "classes": ["C1"],
            "reason": "遗失",
            "delivery_address": ADDRESS,
            "delivery_mobile": "13977778888",
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert refused.status_code == 422
    html = refused.content.decode()
    assert 'data-field="reason"' in html and 'value="13977778888"' in html
    assert 'value="C1" checked' in html and ADDRESS in html
    assert not OnlineApplication.objects.exists()


def test_the_apply_page_in_english(citizen: Client, d01: Business) -> None:
    html = citizen.get("/online/apply/D01/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="lost">lost</option>' in html
    assert 'value="C1"> C1 small car' in html
    assert "Where to mail it" in html


def test_fleet_errors_name_the_line_and_the_field(demo: Any) -> None:
    from trafficdesk.online.views import _fleet_errors

    business = Business.objects.get(code="V07")
    with translation.override("zh-hans"):
        shown = _fleet_errors(business, {"rows[2].vin": "车辆识别代号应为17位"})
    assert shown == [("rows[2].vin", "第2行，车辆识别代号：车辆识别代号应为17位")]


def test_the_catalogue_lists_businesses_by_name_under_their_category(
    client: Client, users: dict[str, Any], demo: Any
) -> None:
    page = client.get("/online/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    online = Business.objects.filter(online=True, active=True).select_related("category")
    with translation.override("zh-hans"):
        for business in online:
            assert f'<h3 class="online-card-title">{business.name}</h3>' in html
            assert f">{business.category.name}</h2>" in html
    assert html.count('href="/online/apply/') == online.count()
    assert "/online/phone/" not in html  # only the online centre files for callers
    client.force_login(users["clerk"])
    assert "/online/phone/D01/" in client.get("/online/").content.decode()
