"""Enterprises, their agents, grants and fleets (/api/v1/enterprises)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import django_auth
from pydantic import StrictBool

from trafficdesk.core.problems import Problem
from trafficdesk.core.uploads import MAX_DOCUMENT_BYTES
from trafficdesk.core.vocabulary import VehicleUse
from trafficdesk.enterprises import services
from trafficdesk.enterprises.models import Agent, Enterprise, Grant, Vehicle

router = Router(tags=["enterprises"], auth=django_auth)


class GrantOut(Schema):
    id: int
    applicant_class: str
    valid_until: date
    reason: str
    revoked: bool


class VehicleOut(Schema):
    id: int
    plate: str
    vehicle_type: str
    use: str


class EnterpriseOut(Schema):
    id: int
    uscc: str
    name: str
    status: str
    region: str
    grants: list[GrantOut]


class AgentOut(Schema):
    id: int
    enterprise: str
    status: str
    manager: bool


class RegisterIn(Schema):
    uscc: str = Field(..., max_length=30)
    name: str = Field(..., max_length=200)
    address: str = Field(..., max_length=300)
    contact_name: str = Field(..., max_length=100)
    contact_mobile: str = Field(..., max_length=20)


class JoinIn(Schema):
    uscc: str = Field(..., max_length=30)


class DecisionIn(Schema):
    approve: StrictBool
    note: str = Field("", max_length=300)


class GrantIn(Schema):
    applicant_class: str = Field(..., max_length=12)
    valid_until: date
    reason: str = Field(..., max_length=300)


class RevokeIn(Schema):
    reason: str = Field(..., max_length=300)


class VehicleIn(Schema):
    plate: str = Field(..., max_length=20)
    vehicle_type: str = Field(..., max_length=40)
    use: VehicleUse


ANSWERS = {409: Problem, 422: Problem}


def enterprise_out(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "id": enterprise.pk,
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "status": enterprise.status,
        "region": enterprise.region.code,
        "grants": [_grant_out(g) for g in enterprise.grants.order_by("valid_until")],
    }


@router.post("", response={201: EnterpriseOut, **ANSWERS})
def register(request: HttpRequest, payload: Form[RegisterIn], document: File[UploadedFile]) -> Any:
    """Register an enterprise with its business licence (JPEG, PNG or PDF); you become its
    manager agent. It waits for verification by the regional administrator or online centre."""
    enterprise = services.register(
        request.user,  # type: ignore[arg-type]
        document_name=document.name or "",
        document=document.read(MAX_DOCUMENT_BYTES + 1),
        **payload.dict(),
    )
    return Status(201, enterprise_out(enterprise))


@router.get("/mine", response=list[EnterpriseOut])
def mine(request: HttpRequest) -> Any:
    """The enterprises you are an approved agent of."""
    return [
        enterprise_out(e)
        for e in services.enterprises_of(request.user).select_related("region")  # type: ignore[arg-type]
    ]


@router.post("/join", response={201: AgentOut, **ANSWERS})
def join(request: HttpRequest, payload: JoinIn) -> Any:
    """Ask to act for an enterprise; its manager approves."""
    agent = services.request_agency(request.user, payload.uscc)  # type: ignore[arg-type]
    return Status(201, _agent_out(agent))


def _agent_out(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.pk,
        "enterprise": agent.enterprise.uscc,
        "status": agent.status,
        "manager": agent.manager,
    }


@router.post("/agents/{agent_id}/decision", response={200: AgentOut, **ANSWERS})
def decide_agent(request: HttpRequest, agent_id: int, payload: DecisionIn) -> Any:
    """The manager approves an agent, or removes one."""
    agent = get_object_or_404(Agent.objects.select_related("enterprise"), pk=agent_id)
    agent = services.decide_agent(request.user, agent, approve=payload.approve)  # type: ignore[arg-type]
    return _agent_out(agent)


@router.post("/{enterprise_id}/verification", response={200: EnterpriseOut, **ANSWERS})
def verify(request: HttpRequest, enterprise_id: int, payload: DecisionIn) -> Any:
    """Staff verify an enterprise after checking its licence (or not, saying why)."""
    enterprise = get_object_or_404(Enterprise.objects.select_related("region"), pk=enterprise_id)
    enterprise = services.verify(
        request.user, enterprise, approve=payload.approve, note=payload.note
    )
    return enterprise_out(enterprise)


@router.post("/{enterprise_id}/grants", response={201: GrantOut, **ANSWERS})
def grant(request: HttpRequest, enterprise_id: int, payload: GrantIn) -> Any:
    """Grant a priority class until a date, with the reason (regional administrators)."""
    enterprise = get_object_or_404(Enterprise.objects.select_related("region"), pk=enterprise_id)
    given = services.grant(
        request.user, enterprise, payload.applicant_class, payload.valid_until, payload.reason
    )
    return Status(201, _grant_out(given))


def _grant_out(given: Grant) -> dict[str, Any]:
    return {
        "id": given.pk,
        "applicant_class": given.applicant_class,
        "valid_until": given.valid_until,
        "reason": given.reason,
        "revoked": given.revoked_at is not None,
    }


@router.post("/grants/{grant_id}/revocation", response={200: GrantOut, **ANSWERS})
def revoke(request: HttpRequest, grant_id: int, payload: RevokeIn) -> Any:
    given = get_object_or_404(Grant.objects.select_related("enterprise__region"), pk=grant_id)
    given = services.revoke(request.user, given, payload.reason)
    return _grant_out(given)


@router.get("/{enterprise_id}/vehicles", response=list[VehicleOut])
def vehicles(request: HttpRequest, enterprise_id: int) -> Any:
    """The fleet (agents of the enterprise only)."""
    enterprise = get_object_or_404(Enterprise, pk=enterprise_id)
    return [_vehicle_out(v) for v in services.fleet(request.user, enterprise)]  # type: ignore[arg-type]


@router.post("/{enterprise_id}/vehicles", response={201: VehicleOut, **ANSWERS})
def add_vehicle(request: HttpRequest, enterprise_id: int, payload: VehicleIn) -> Any:
    enterprise = get_object_or_404(Enterprise, pk=enterprise_id)
    vehicle = services.add_vehicle(
        request.user,  # type: ignore[arg-type]
        enterprise,
        plate=payload.plate,
        vehicle_type=payload.vehicle_type,
        use=payload.use,
    )
    return Status(201, _vehicle_out(vehicle))


@router.delete("/vehicles/{vehicle_id}", response={200: VehicleOut, **ANSWERS})
def remove_vehicle(request: HttpRequest, vehicle_id: int) -> Any:
    vehicle = get_object_or_404(Vehicle, pk=vehicle_id, active=True)
    return _vehicle_out(services.remove_vehicle(request.user, vehicle))  # type: ignore[arg-type]


def _vehicle_out(vehicle: Vehicle) -> dict[str, Any]:
    return {
        "id": vehicle.pk,
        "plate": vehicle.plate,
        "vehicle_type": vehicle.vehicle_type,
        "use": vehicle.use,
    }
