"""Checkpoint registration: validation, flagging, masking, audited access, exports, retention."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from trafficdesk.audit.models import AuditEntry
from trafficdesk.checkpoint import services
from trafficdesk.checkpoint.models import Checkpoint, Registration
from trafficdesk.checkpoint.rules import flags

ID = "11010519491231002X"
GOOD = {
    "name": "张三丰",
    "id_number": ID,
    "mobile": "13912345678",
    "plate": "贵A12345",
    "origin": "520115",
    "destination": "贵阳市南明区",
    "passengers": "2",
}


@pytest.mark.parametrize(
    ("plate", "origin", "risk", "codes"),
    [
        ("52", "520115", "LOW", set()),
        ("11", "520115", "LOW", {"plate.other_province"}),
        ("52", "110105", None, {"origin.other_province"}),
        ("52", "520102", "MEDIUM", {"origin.medium"}),
        ("44", "440106", "HIGH", {"plate.other_province", "origin.other_province", "origin.high"}),
    ],
)
def test_flags(plate: str, origin: str, risk: str | None, codes: set[str]) -> None:
    found = flags(
        plate_province_code=plate, origin_code=origin, origin_risk=risk, home_province="520000"
    )
    assert {code for code, _zh, _en in found} == codes
    assert all(zh and en for _c, zh, en in found)


@pytest.fixture
def toll(demo: Any) -> Checkpoint:
    return Checkpoint.objects.select_related("region").get(code="GY-N-TOLL")


def test_registration_is_validated_and_flagged(toll: Checkpoint) -> None:
    local = services.register(toll, GOOD)
    assert not local.flagged and local.id_masked == "1101**********002X"
    from_medium = services.register(toll, dict(GOOD, origin="520102", plate="京A12345"))
    assert (
        from_medium.out_of_province
        and from_medium.from_risk_area
        and from_medium.origin_risk == "MEDIUM"
    )
    with pytest.raises(services.RegistrationInvalid) as bad:
        services.register(
            toll,
            {
                "name": "",
                "id_number": "1",
                "mobile": "2",
                "plate": "x",
                "origin": "9",
                "destination": "",
                "passengers": "99",
            },
        )
    assert bad.value.codes == {
        "name": "name.missing",
        "id_number": "id.length",
        "mobile": "mobile.format",
        "plate": "plate.province",
        "origin": "origin.unknown",
        "destination": "destination.missing",
        "passengers": "passengers.range",
    }
    assert set(bad.value.errors) == set(bad.value.codes)
    assert all(bad.value.errors.values())


def test_public_page_and_receipt_show_only_masked_data(client: Client, toll: Checkpoint) -> None:
    assert client.get("/c/GY-N-TOLL/").status_code == 200
    response = client.post("/c/GY-N-TOLL/", dict(GOOD, origin="520102"))
    assert response.status_code == 302
    receipt = client.get(response["Location"]).content.decode()
    assert ID not in receipt and "13912345678" not in receipt and "张三丰" not in receipt
    assert 'data-flagged="1"' in receipt
    bad = client.post("/c/GY-N-TOLL/", dict(GOOD, id_number="520115199003011234"))
    assert bad.status_code == 422 and 'data-code="id.checksum"' in bad.content.decode()
    # What was typed is given back in its field (to correct it), and nowhere else; the page
    # is not kept by any cache.
    html = bad.content.decode()
    assert html.count("520115199003011234") == 1
    assert 'id="id_number" name="id_number" value="520115199003011234"' in html
    assert "no-store" in bad["Cache-Control"]


def test_officer_console_is_audited_and_scoped(
    client: Client, users: dict[str, Any], toll: Checkpoint
) -> None:
    services.register(toll, GOOD)
    client.force_login(users["officer"])
    page = client.get("/checkpoints/GY-N-TOLL/console/?plate=A12").content.decode()
    assert "贵A***45" in page and ID not in page
    assert AuditEntry.objects.filter(action="checkpoint.view", actor_label="officer").exists()
    client.force_login(users["clerk"])
    assert client.get("/checkpoints/GY-N-TOLL/console/").status_code == 403


def test_officers_outside_the_region_are_refused(users: dict[str, Any], toll: Checkpoint) -> None:
    from trafficdesk.accounts.services import create_staff_user
    from trafficdesk.regions.models import Region

    elsewhere = create_staff_user(
        "zunyi-officer",
        "x-very-long-password-1",
        "checkpoint_officer",
        Region.objects.get(code="520300"),
    )
    with pytest.raises(PermissionDenied):
        services.arrivals(elsewhere, toll)


def test_exports_are_masked_and_audited(
    client: Client, users: dict[str, Any], toll: Checkpoint
) -> None:
    services.register(toll, GOOD)
    client.force_login(users["officer"])
    csv_response = client.get("/checkpoints/GY-N-TOLL/export.csv")
    text = csv_response.content.decode("utf-8-sig")
    assert csv_response.status_code == 200 and "1101**********002X" in text and ID not in text
    xlsx = client.get("/checkpoints/GY-N-TOLL/export.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 2 and sheet["C2"].value == "1101**********002X"
    assert AuditEntry.objects.filter(action="checkpoint.export").count() == 2


@pytest.mark.parametrize(
    ("kind", "magic"), [("png", b"\x89PNG"), ("svg", b"<svg"), ("pdf", b"%PDF")]
)
def test_printable_qr_codes(client: Client, toll: Checkpoint, kind: str, magic: bytes) -> None:
    response = client.get(f"/checkpoints/GY-N-TOLL/qr.{kind}")
    assert response.status_code == 200 and magic in response.content[:200]
    assert client.get("/checkpoints/GY-N-TOLL/qr.gif").status_code == 404


def test_registrations_are_deleted_after_the_retention_period(
    toll: Checkpoint, settings: Any
) -> None:
    settings.CHECKPOINT_RETENTION_DAYS = 14
    old = services.register(toll, GOOD)
    Registration.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=15))
    fresh = services.register(toll, dict(GOOD, plate="贵A54321"))
    assert services.purge_expired() == 1
    assert list(Registration.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert AuditEntry.objects.filter(action="checkpoint.purge").exists()


def test_exports_do_not_carry_formulas(
    client: Client, users: dict[str, Any], toll: Checkpoint
) -> None:
    services.register(toll, dict(GOOD, destination='=HYPERLINK("http://x","go")'))
    client.force_login(users["officer"])
    text = client.get("/checkpoints/GY-N-TOLL/export.csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    from openpyxl import load_workbook

    sheet = load_workbook(
        io.BytesIO(client.get("/checkpoints/GY-N-TOLL/export.xlsx").content)
    ).active
    assert (
        sheet is not None
        and sheet["H2"].data_type == "s"
        and str(sheet["H2"].value).startswith("'=")
    )
