from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.models import BilingualName


class CheckpointKind(models.TextChoices):
    TOLL_STATION = "toll_station", _("toll station")
    ROAD = "road", _("road checkpoint")


class Checkpoint(BilingualName):
    """A toll station or road checkpoint where travellers register by QR code (R10)."""

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
