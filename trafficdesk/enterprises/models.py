"""Enterprises (单位用户), their agents, the priority classes granted to them, and their fleets.

An enterprise is registered with its unified social credit code and verified by a regional
administrator or the online centre; its agents are citizen accounts it has approved. A grant
says that the enterprise's vehicles may be booked in a priority class until a date.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trafficdesk.core.validators import mask_mobile, mask_plate, validate_plate, validate_uscc
from trafficdesk.core.vocabulary import (
    AgentStatus,
    ApplicantClass,
    EnterpriseStatus,
    VehicleUse,
)


class Enterprise(models.Model):
    uscc = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=100)
    address = models.CharField(_("address"), max_length=200)
    contact_name = models.CharField(_("contact person"), max_length=50)
    contact_mobile = models.CharField(_("contact mobile number"), max_length=11)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where it is registered: its administrators verify it."),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=EnterpriseStatus.choices,
        default=EnterpriseStatus.PENDING,
    )
    document = models.FileField(_("business licence"), upload_to="enterprises/%Y/%m/")
    document_type = models.CharField(max_length=40)
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(_("note"), max_length=300, blank=True)

    region_lookup: ClassVar[str] = "region"
    enterprise_lookup: ClassVar[str] = ""

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")

    def __str__(self) -> str:
        return f"{self.name} ({self.uscc})"

    @property
    def masked_contact(self) -> str:
        return mask_mobile(self.contact_mobile)


class Agent(models.Model):
    """A citizen account acting for an enterprise (企业经办人)."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="agents")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agencies"
    )
    status = models.CharField(
        max_length=10, choices=AgentStatus.choices, default=AgentStatus.PENDING
    )
    manager = models.BooleanField(
        _("approves other agents"), default=False, help_text=_("The one who registered it.")
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    region_lookup: ClassVar[str] = "enterprise__region"
    enterprise_lookup: ClassVar[str] = "enterprise"

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "user"], name="agent_once_per_enterprise")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.enterprise.name}"


class Grant(models.Model):
    """A priority class granted to an enterprise until a date, with the reason."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="grants")
    applicant_class = models.CharField(
        _("applicant class"), max_length=12, choices=ApplicantClass.choices
    )
    valid_until = models.DateField(_("valid until"))
    reason = models.CharField(_("reason"), max_length=300)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.CharField(_("why revoked"), max_length=300, blank=True)

    region_lookup: ClassVar[str] = "enterprise__region"
    enterprise_lookup: ClassVar[str] = "enterprise"

    class Meta:
        verbose_name = _("priority grant")
        verbose_name_plural = _("priority grants")

    def __str__(self) -> str:
        return f"{self.enterprise.name}: {self.get_applicant_class_display()} → {self.valid_until}"

    def in_force(self, day: object = None) -> bool:
        today = day or timezone.localdate()
        return self.revoked_at is None and self.valid_until >= today  # type: ignore[operator]


class Vehicle(models.Model):
    """A vehicle of an enterprise's fleet. A plate is in one fleet at a time."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="vehicles")
    plate = models.CharField(_("plate number"), max_length=10, validators=[validate_plate])
    vehicle_type = models.CharField(_("vehicle type"), max_length=40)
    use = models.CharField(_("use"), max_length=10, choices=VehicleUse.choices)
    active = models.BooleanField(default=True)
    added_at = models.DateTimeField(auto_now_add=True)

    region_lookup: ClassVar[str] = "enterprise__region"
    enterprise_lookup: ClassVar[str] = "enterprise"

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        constraints = [
            models.UniqueConstraint(
                fields=["plate"], condition=Q(active=True), name="vehicle_in_one_fleet"
            )
        ]

    def __str__(self) -> str:
        return self.masked_plate

    @property
    def masked_plate(self) -> str:
        return mask_plate(self.plate)
