from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.models import BilingualName

code_validator = RegexValidator(r"^[A-Z][A-Z0-9_]{1,19}$", _("Use capital letters and digits."))


class BusinessCategory(BilingualName):
    code = models.CharField(_("code"), max_length=20, unique=True, validators=[code_validator])

    class Meta:
        ordering = ["code"]
        verbose_name = _("business category")
        verbose_name_plural = _("business categories")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Deliverable(models.TextChoices):
    NONE = "", _("nothing to mail")
    PLATE = "plate", _("plate")
    LICENCE = "licence", _("licence")
    STICKER = "sticker", _("inspection sticker")


class Business(BilingualName):
    """One kind of traffic-management business."""

    code = models.CharField(_("code"), max_length=20, unique=True, validators=[code_validator])
    category = models.ForeignKey(
        BusinessCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="businesses",
    )
    online = models.BooleanField(_("can be done fully online"), default=False)
    on_site_required = models.BooleanField(_("needs the person on site"), default=True)
    service_minutes = models.PositiveSmallIntegerField(
        _("average service minutes"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(480)],
    )
    deliverable = models.CharField(
        _("mailable deliverable"),
        max_length=10,
        choices=Deliverable.choices,
        blank=True,
        default="",
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("business")
        verbose_name_plural = _("businesses")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
