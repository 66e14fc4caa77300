from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.models import BilingualName


class CheckpointKind(models.TextChoices):
    TOLL_STATION = "toll_station", _("toll station")
    ROAD = "road", _("road checkpoint")


class Checkpoint(BilingualName):
    """A toll station or road checkpoint where travellers register by QR code (R10)."""

    region_lookup: ClassVar[str] = "region"

    code = models.CharField(_("code"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=CheckpointKind.choices)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="checkpoints",
    )
    road = models.CharField(_("road"), max_length=80, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Registration(models.Model):
    """A traveller's contact-free registration at a checkpoint (R10). Whereabouts data: masked
    on every screen, every access audited, deleted after CHECKPOINT_RETENTION_DAYS."""

    region_lookup: ClassVar[str] = "checkpoint__region"

    token = models.CharField(max_length=32, unique=True, editable=False)
    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.CASCADE, related_name="registrations"
    )
    name = models.CharField(_("name"), max_length=40)
    id_digest = models.CharField(max_length=64, db_index=True)
    id_masked = models.CharField(_("ID number"), max_length=18)
    mobile = models.CharField(_("mobile number"), max_length=11)
    plate = models.CharField(_("plate"), max_length=10, db_index=True)
    origin = models.ForeignKey(
        "regions.Region", verbose_name=_("coming from"), on_delete=models.PROTECT, related_name="+"
    )
    destination = models.CharField(_("going to"), max_length=100)
    passengers = models.PositiveSmallIntegerField(_("passengers"), default=0)
    origin_risk = models.CharField(_("risk level where they come from"), max_length=6, blank=True)
    out_of_province = models.BooleanField(_("from another province"), default=False)
    from_risk_area = models.BooleanField(_("from a medium or high risk county"), default=False)
    flag_reasons = models.JSONField(default=list)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

    def __str__(self) -> str:
        return f"{self.checkpoint_id} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def flagged(self) -> bool:
        return self.out_of_province or self.from_risk_area
