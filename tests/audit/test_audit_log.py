"""The audit log: append-only, written for staff changes and unmasked views, read by auditors."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from trafficdesk.audit.models import AuditEntry, AuditLogIsAppendOnly
from trafficdesk.audit.services import record, reveal_mobile
from trafficdesk.regions import services
from trafficdesk.regions.models import Region


def test_orm_refuses_change_and_delete(users: dict[str, Any]) -> None:
    entry = record(users["gz_admin"], "test.action", summary="hello")
    entry.summary = "changed"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()


@pytest.mark.parametrize(
    "sql", ["UPDATE audit_auditentry SET summary = 'x'", "DELETE FROM audit_auditentry"]
)
def test_database_refuses_raw_update_and_delete(users: dict[str, Any], sql: str) -> None:
    record(users["gz_admin"], "test.action", summary="hello")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEntry.objects.filter(summary="hello").exists()


def test_queryset_bulk_update_is_refused_by_the_database(users: dict[str, Any]) -> None:
    record(users["gz_admin"], "test.action", summary="hello")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.update(summary="rewritten")


def test_no_role_may_edit_or_delete_in_admin(client: Client, users: dict[str, Any]) -> None:
    entry = record(users["gz_admin"], "test.action", summary="hello")
    for username in ("auditor", "gz_admin", "admin"):
        client.force_login(users[username])
        client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"})
        client.post(
            "/admin/audit/auditentry/",
            {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
        )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_risk_change_records_who_what_where_and_outcome(
    client: Client, users: dict[str, Any]
) -> None:
    client.force_login(users["gz_admin"])
    response = client.post(
        "/regions/risk/520111/", {"level": "MEDIUM", "reason": "新增病例"}, REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(
        action="risk.set", object_id=str(Region.objects.get(code="520111").pk)
    ).first()
    assert entry is not None
    assert (entry.actor_label, entry.ip, entry.outcome) == ("gz_admin", "10.1.2.3", "ok")
    assert "MEDIUM" in entry.summary


def test_admin_changes_are_audited(client: Client, users: dict[str, Any]) -> None:
    from trafficdesk.sites.models import Zone

    zone = Zone.objects.filter(service_point__code="GY-HALL-01").first()
    assert zone is not None
    client.force_login(users["manager"])
    response = client.post(
        f"/admin/sites/zone/{zone.pk}/change/",
        {
            "service_point": zone.service_point_id,
            "name_zh": zone.name_zh,
            "name_en": zone.name_en,
            "occupancy_cap": 55,
            "is_open": "on",
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert AuditEntry.objects.filter(
        action="zone.change", actor_label="manager", object_id=str(zone.pk)
    ).exists()


def test_viewing_unmasked_personal_data_is_audited(users: dict[str, Any]) -> None:
    from trafficdesk.accounts.models import User

    citizen = User.objects.create(username="c1", mobile="13912345678")
    assert reveal_mobile(users["clerk"], citizen, "caller asked for a callback") == "13912345678"
    entry = AuditEntry.objects.get(action="personal_data.view")
    assert entry.actor_label == "clerk" and entry.object_id == str(citizen.pk)
    assert entry.detail["reason"] == "caller asked for a callback"


def test_personal_data_is_masked_in_audit_summaries(users: dict[str, Any]) -> None:
    entry = record(users["clerk"], "test", summary="called 13912345678 about 11010519491231002X")
    assert "13912345678" not in entry.summary and "11010519491231002X" not in entry.summary


def test_auditor_reads_the_log_in_the_web_ui(client: Client, users: dict[str, Any]) -> None:
    services.set_risk_level(
        users["gz_admin"], Region.objects.get(code="520111"), "HIGH", reason="聚集"
    )
    client.force_login(users["auditor"])
    page = client.get("/audit/?action=risk.set&actor=gz_admin")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-action="risk.set"' in body, "the filter kept the entry"
    # The auditor reads labels: the action, the object's kind, the level in words.
    assert '<td data-label="操作">设定风险等级</td>' in body
    assert "520111 → 高风险，自 " in body
    assert "HIGH" not in body.split('data-testid="audit-table"')[1]
    assert page["Cache-Control"].startswith("no-store")


def test_unknown_actions_and_summaries_still_read_in_chinese() -> None:
    from django.utils import translation

    from trafficdesk.audit import labels

    with translation.override("zh-hans"):
        assert labels.action_label("something.new") == "其他操作"
        assert labels.action_label("online.approved") == "办理网上申请"
        assert labels.summary_label("520000 → phase 2") == "520000 → 第2阶段"
        assert labels.summary_label("imported 3 rows") == "已导入 3 行"
        assert labels.summary_label("GY-N-TOLL 贵阳北收费站") == "贵阳北收费站"
        assert labels.summary_label("备注原文") == "备注原文"
        assert labels.object_label("regions.region", "63").endswith("#63")
        assert not labels.object_label("regions.region", "63").isascii()


@pytest.mark.parametrize("username", ["clerk", "manager", "gz_admin", "officer"])
def test_other_roles_cannot_read_the_log(
    client: Client, users: dict[str, Any], username: str
) -> None:
    client.force_login(users[username])
    assert client.get("/audit/").status_code == 403


def test_anonymous_is_sent_to_login(client: Client, demo: Any) -> None:
    response = client.get("/audit/")
    assert response.status_code == 302 and "/accounts/staff/login/" in response["Location"]
