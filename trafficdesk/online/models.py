from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trafficdesk.online.rules import Status, status_label


class Channel(models.TextChoices):
    INTERNET = "internet", _("internet")
    PHONE = "phone", _("telephone")


class OnlineApplication(models.Model):
    owner_field: ClassVar[str] = "applicant"
    #: Staff list, read and decide an application only in their region (accounts.access).
    region_lookup: ClassVar[str] = "region"

    reference = models.CharField(_("reference"), max_length=24, unique=True)
    business = models.ForeignKey(
        "catalog.Business", verbose_name=_("business"), on_delete=models.PROTECT, related_name="+"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant"),
        on_delete=models.PROTECT,
        related_name="online_applications",
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.INTERNET
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("filed by (telephone)"),
    )
    status = models.CharField(
        _("status"),
        max_length=14,
        choices=Status.choices,
        default=Status.SUBMITTED,
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise",
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="online_applications",
        help_text=_("Filed by its agent for a vehicle of its fleet."),
    )
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("online centre's region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "The online centre that answers it: the applicant's region (from the ID number, or "
            "the enterprise's); empty means the province's centre."
        ),
    )
    form_data = models.JSONField(_("form"), default=dict)
    delivery_address = models.CharField(_("delivery address"), max_length=200, blank=True)
    delivery_mobile = models.CharField(_("recipient's mobile"), max_length=11, blank=True)
    note = models.CharField(_("reason or request to the applicant"), max_length=300, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    sla_due_at = models.DateTimeField(_("answer due by"), db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sla_due_at", "id"]
        verbose_name = _("online application")
        verbose_name_plural = _("online applications")

    def __str__(self) -> str:
        return self.reference

    @property
    def mailed(self) -> bool:
        return bool(self.business.deliverable)


class ApplicationEvent(models.Model):
    application = models.ForeignKey(
        OnlineApplication, on_delete=models.CASCADE, related_name="events"
    )
    from_status = models.CharField(max_length=14, blank=True)
    to_status = models.CharField(max_length=14)
    actor_label = models.CharField(max_length=150)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    notice = models.ForeignKey(
        "notify.SmsMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_status} → {self.to_status}"

    @property
    def from_label(self) -> str:
        return status_label(self.from_status) if self.from_status else ""

    @property
    def to_label(self) -> str:
        return status_label(self.to_status)


class Attachment(models.Model):
    application = models.ForeignKey(
        OnlineApplication, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to="attachments/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=120)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.original_name


class ShipmentStatus(models.TextChoices):
    CREATED = "created", _("label printed")
    IN_TRANSIT = "in_transit", _("in transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("out for delivery")
    DELIVERED = "delivered", _("delivered")


class Shipment(models.Model):
    """A mailed plate, licence or sticker (牌证寄递)."""

    application = models.OneToOneField(
        OnlineApplication, on_delete=models.PROTECT, related_name="shipment"
    )
    carrier = models.CharField(_("carrier"), max_length=30)
    waybill = models.CharField(_("waybill number"), max_length=40)
    status = models.CharField(
        _("status"), max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.CREATED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["carrier", "waybill"], name="waybill_unique")
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.waybill}"


class TrackingEvent(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("when"))
    status = models.CharField(_("status"), max_length=20, choices=ShipmentStatus.choices)
    location = models.CharField(_("where"), max_length=80, blank=True)
    description = models.CharField(_("what"), max_length=200, blank=True)
    source = models.CharField(max_length=20)
    external_id = models.CharField(max_length=80, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.status} @ {self.at:%Y-%m-%d %H:%M}"
