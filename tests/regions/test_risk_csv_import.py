"""CSV import of county risk levels: every bad row is reported by line; a bad file imports
nothing."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from trafficdesk.regions.models import RiskAssessment
from trafficdesk.regions.services import import_risk_levels_csv

GOOD = (
    "code,level,effective_from,reason\n"
    "520102,HIGH,2026-11-25 08:00,聚集性疫情\n"
    "520103,中,2026-11-25,新增病例\n"
    "520111,low,,连续14天无新增\n"
)


def test_good_file_imports_every_row(users: dict[str, Any]) -> None:
    before = RiskAssessment.objects.count()
    result = import_risk_levels_csv(users["gz_admin"], GOOD.encode("utf-8-sig"))
    assert result.ok and result.imported == 3
    assert RiskAssessment.objects.count() == before + 3
    levels = {a.region.code: a.level for a in RiskAssessment.objects.order_by("-id")[:3]}
    assert levels == {"520102": "HIGH", "520103": "MEDIUM", "520111": "LOW"}


def test_chinese_column_names_are_read_as_the_import_page_describes_them(
    users: dict[str, Any],
) -> None:
    chinese = GOOD.replace("code,level,effective_from,reason", "区县代码,风险等级,生效时间,原因")
    result = import_risk_levels_csv(users["gz_admin"], chinese.encode("utf-8-sig"))
    assert result.ok and result.imported == 3


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(users: dict[str, Any]) -> None:
    bad = (
        "code,level,effective_from,reason\n"
        "520102,HIGH,2026-11-25,ok\n"  # line 2: fine
        "999999,HIGH,2026-11-25,x\n"  # line 3: unknown code
        "520103,SEVERE,2026-11-25,x\n"  # line 4: unknown level
        "520111,LOW,yesterday,x\n"  # line 5: bad date
        "520112,LOW,2026-11-25,\n"  # line 6: no reason
        "520100,LOW,2026-11-25,city\n"  # line 7: a city, not a county
        "520102,HIGH,2026-11-25,twice\n"  # line 8: duplicate of line 2
    )
    before = RiskAssessment.objects.count()
    result = import_risk_levels_csv(users["gz_admin"], bad)
    assert not result.ok and result.imported == 0
    assert [e.line for e in result.errors] == [3, 4, 5, 6, 7, 8]
    assert RiskAssessment.objects.count() == before


def test_rows_outside_the_admins_region_are_errors(users: dict[str, Any]) -> None:
    result = import_risk_levels_csv(users["nanming_admin"], GOOD)
    assert [e.line for e in result.errors] == [3, 4]
    assert "520103" in result.errors[0].message


def test_missing_columns_are_reported(users: dict[str, Any]) -> None:
    result = import_risk_levels_csv(users["gz_admin"], "code,risk\n520102,HIGH\n")
    assert result.errors[0].line == 1 and "level" in result.errors[0].message


def test_web_upload_shows_errors_with_line_numbers(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["gz_admin"])
    upload = SimpleUploadedFile("risk.csv", b"code,level,effective_from,reason\n520102,BAD,,x\n")
    response = client.post("/regions/risk/import/", {"file": upload})
    assert response.status_code == 422
    body = response.content.decode()
    assert "<td>2</td>" in body


def test_web_upload_of_non_utf8_is_a_clear_error(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["gz_admin"])
    upload = SimpleUploadedFile("risk.csv", "code,level,reason\n520102,高,原因\n".encode("gb18030"))
    response = client.post("/regions/risk/import/", {"file": upload})
    assert response.status_code == 422


def test_web_upload_of_good_file_redirects(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["gz_admin"])
    response = client.post(
        "/regions/risk/import/", {"file": SimpleUploadedFile("r.csv", GOOD.encode())}
    )
    assert response.status_code == 302


def test_import_is_refused_to_other_roles(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["clerk"])
    assert client.get("/regions/risk/import/").status_code == 403
