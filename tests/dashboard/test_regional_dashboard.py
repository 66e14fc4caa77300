from __future__ import annotations

import io
from typing import Any

from django.test import Client
from openpyxl import load_workbook

from trafficdesk.checkpoint import services as checkpoint
from trafficdesk.checkpoint.models import Checkpoint
from trafficdesk.dashboard.services import dashboard_data
from trafficdesk.hallqueue import services as hall
from trafficdesk.regions.models import Region
from trafficdesk.sites.models import ServicePoint


def test_figures_for_guiyang(demo: Any) -> None:
    hall.walk_in(
        ServicePoint.objects.select_related("region").get(code="GY-HALL-01"),
        __import__("trafficdesk.catalog.models", fromlist=["Business"]).Business.objects.get(
            code="P01"
        ),
    )
    checkpoint.register(
        Checkpoint.objects.select_related("region").get(code="GY-N-TOLL"),
        {
            "name": "李四",
            "id_number": "11010519491231002X",
            "mobile": "13912345678",
            "plate": "京A12345",
            "origin": "520102",
            "destination": "观山湖",
            "passengers": 1,
        },
    )
    data = dashboard_data(Region.objects.get(code="520100"))
    assert sum(sum(c.values()) for c in data["risk_by_city"].values()) == 10
    hall_row = next(p for p in data["points"] if p["code"] == "GY-HALL-01")
    assert hall_row["open"] and hall_row["queue"] == 1 and hall_row["capacity_today"] >= 0
    assert sum(data["arrivals_by_origin"].values()) == 1


def test_page_and_excel_export(client: Client, users: dict[str, Any]) -> None:
    client.force_login(users["gz_admin"])
    page = client.get("/dashboard/")
    assert page.status_code == 200 and "echarts" in page.content.decode()
    export = client.get("/dashboard/?format=xlsx&region=520100")
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames[:5] == ["风险等级", "服务场所", "网上申请", "邮寄", "卡口到达"]
    risk = [list(row) for row in book["风险等级"].iter_rows(values_only=True)]
    assert risk[0] == ["市州", "低风险", "中风险", "高风险", "未评估"], (
        "headers are labels, not codes"
    )
    points = [list(row) for row in book["服务场所"].iter_rows(values_only=True)]
    assert points[0][:3] == ["名称", "类型", "开放"]
    assert points[1:] and all(not str(row[1]).isascii() for row in points[1:]), points
    english = client.get("/dashboard/?format=xlsx&region=520100", HTTP_ACCEPT_LANGUAGE="en")
    assert load_workbook(io.BytesIO(english.content)).sheetnames[0] == "Risk levels"
    client.force_login(users["nanming_admin"])
    own = client.get("/dashboard/?region=520100")  # outside: falls back to the admin's own county
    assert own.context["region"].code == "520102"
    client.force_login(users["clerk"])
    assert client.get("/dashboard/").status_code == 403
