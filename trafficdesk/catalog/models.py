from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import translation
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
    materials_zh = models.TextField(
        _("materials to bring (Chinese)"),
        blank=True,
        help_text=_("One item per line, e.g. 身份证明; shown on the booking."),
    )
    materials_en = models.TextField(
        _("materials to bring (English)"),
        blank=True,
        help_text=_("One item per line, in the same order as the Chinese list."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("business")
        verbose_name_plural = _("businesses")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def materials(self) -> list[str]:
        """What to bring to the hall, in the language shown (Chinese when no English is
        given): one item per line of the catalogue."""
        english = translation.get_language() == "en" and self.materials_en.strip()
        return split_lines(self.materials_en if english else self.materials_zh)


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
