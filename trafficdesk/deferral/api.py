from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth

from trafficdesk.audit import services as audit_services
from trafficdesk.core.problems import Problem
from trafficdesk.deferral import rules, services

router = Router(tags=["deferral"])


class CheckQuery(Schema):
    kind: Literal["renewal", "review", "inspection"]
    due: date
    on: date | None = None


class CheckOut(Schema):
    kind: str
    due: date
    standing: str
    penalty: bool
    new_deadline: date | None
    reasons_zh: list[str]
    reasons_en: list[str]


class LookupIn(Schema):
    id_number: str | None = Field(None, max_length=20)
    plate: str | None = Field(None, max_length=12)
    on: date | None = None


class LookupOut(Schema):
    found: bool
    who: str | None
    deadlines: list[CheckOut]


class EndingOut(Schema):
    kind: str
    who: str
    due: date
    new_deadline: date


def _out(kind: str, due: date, result: rules.CheckResult) -> dict[str, Any]:
    return {
        "kind": kind,
        "due": due,
        "standing": result.standing.value,
        "penalty": result.penalty,
        "new_deadline": result.new_deadline,
        "reasons_zh": [zh for zh, _en in result.reasons],
        "reasons_en": [en for _zh, en in result.reasons],
    }


@router.get("/deferral/check", response=CheckOut, auth=None)
def check(request: HttpRequest, query: Query[CheckQuery]) -> Any:
    """Is a deadline valid, overdue but deferred (no penalty, new deadline), or penalisable?"""
    on = query.on or timezone.localdate()
    return _out(
        query.kind, query.due, rules.check(query.kind, query.due, on, services.windows_for())
    )


@router.post(
    "/deferral/lookup", response={200: LookupOut, 403: Problem, 422: Problem}, auth=django_auth
)
def lookup(request: HttpRequest, payload: LookupIn) -> Any:
    """Violation-processing clerks look a driver up by ID number or a vehicle by plate (audited)."""
    try:
        if payload.id_number:
            found, answers = services.check_person(request.user, payload.id_number, payload.on)
            who = f"{found.name_masked} {found.id_masked}" if found else None
        elif payload.plate:
            found_vehicle, answers = services.check_vehicle(request.user, payload.plate, payload.on)
            who = found_vehicle.plate if found_vehicle else None
        else:
            return Status(422, {"code": "lookup.empty", "detail": "give an ID number or a plate"})
    except services.DeferralError as exc:
        return Status(422, {"code": "lookup.invalid", "detail": str(exc)})
    return Status(
        200,
        {
            "found": who is not None,
            "who": who,
            "deadlines": [_out(a.kind, a.due, a.result) for a in answers],
        },
    )


@router.get(
    "/deferral/ending-soon", response={200: list[EndingOut], 403: Problem}, auth=django_auth
)
def ending_soon(request: HttpRequest, days: int = Query(14, ge=0, le=365)) -> Any:  # type: ignore[type-arg]
    """People and vehicles whose deferred deadline falls within `days` days."""
    rows = services.ending_soon_for_staff(request.user, days)
    audit_services.record_view(
        request.user, None, ["who", "due"], "deferral.api.ending_soon", count=len(rows)
    )
    return Status(200, [e.__dict__ for e in rows])
