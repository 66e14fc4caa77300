"""The materials to bring per business: catalogue data in Chinese and English, loaded with
the catalogue, shown in the page's language, changed by a province administrator through
the catalogue service (and so the admin), not by others."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from trafficdesk.catalog import services
from trafficdesk.catalog.models import Business


def test_every_on_site_business_of_the_catalogue_lists_its_materials(demo: Any) -> None:
    on_site = Business.objects.filter(on_site_required=True, active=True)
    assert on_site.exists()
    for business in on_site:
        chinese = business.materials_zh.splitlines()
        english = business.materials_en.splitlines()
        assert chinese, business.code
        assert len(chinese) == len(english), business.code
        # who comes proves who they are, or brings the vehicle's own papers (inspection)
        assert any("身份证明" in i or "行驶证" in i for i in chinese), business.code


def test_materials_follow_the_page_language(demo: Any) -> None:
    transfer = Business.objects.get(code="R01")
    with translation.override("zh-hans"):
        assert "机动车登记证书" in transfer.materials
    with translation.override("en"):
        assert "vehicle registration certificate" in transfer.materials
    transfer.materials_en = ""
    with translation.override("en"):
        assert "机动车登记证书" in transfer.materials, "Chinese when there is no English"


def test_the_packaged_data_gives_the_materials(tmp_path: Any) -> None:
    read = services.read_materials()
    assert "行驶证" in read["I01"]["materials_zh"].replace("机动车行驶证", "行驶证")
    assert read["P01"]["materials_en"].count("\n") == read["P01"]["materials_zh"].count("\n")


def test_a_province_administrator_changes_the_materials(users: dict[str, Any]) -> None:
    business = Business.objects.get(code="L03")
    services.set_materials(
        users["gz_admin"], business, ["身份证明", " 机动车驾驶证 ", ""], ["ID", "driving licence"]
    )
    business.refresh_from_db()
    assert business.materials_zh == "身份证明\n机动车驾驶证"
    assert business.materials_en == "ID\ndriving licence"


def test_a_clerk_cannot_change_the_materials(users: dict[str, Any]) -> None:
    business = Business.objects.get(code="L03")
    before = business.materials_zh
    with pytest.raises(PermissionDenied):
        services.set_materials(users["clerk"], business, ["随便"])
    business.refresh_from_db()
    assert business.materials_zh == before


def test_the_admin_form_edits_the_materials(admin_client: Any, users: dict[str, Any]) -> None:
    from django.urls import reverse

    business = Business.objects.get(code="L03")
    admin_client.force_login(users["gz_admin"])
    page = admin_client.get(reverse("admin:catalog_business_change", args=[business.pk]))
    assert page.status_code == 200
    assert 'name="materials_zh"' in page.content.decode()


def test_the_catalogue_api_gives_the_materials(client: Any, demo: Any) -> None:
    businesses = {b["code"]: b for b in client.get("/api/v1/catalog/businesses").json()}
    p01 = Business.objects.get(code="P01")
    assert businesses["P01"]["materials_zh"] == p01.materials_zh.split("\n")
    assert businesses["P01"]["materials_zh"] and businesses["P01"]["materials_en"]
    online_only = next(b for b in businesses.values() if not b["on_site_required"])
    assert online_only["materials_zh"] == []
