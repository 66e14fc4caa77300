from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trafficdesk.deferral.rules import DeadlineKind, Window


class DeferralWindow(models.Model):
    """A period during which licence renewal, licence review and vehicle inspection deadlines
    are deferred without penalty (R8). Its end may be "until announced"."""

    region_lookup: ClassVar[str] = "region"

    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=120)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(
        _("last day"), null=True, blank=True, help_text=_("Empty: until announced.")
    )
    covers_renewal = models.BooleanField(_("licence renewal (换证)"), default=True)
    covers_review = models.BooleanField(_("licence review (审验)"), default=True)
    covers_inspection = models.BooleanField(_("vehicle inspection (检验)"), default=True)
    grace_days = models.PositiveSmallIntegerField(_("grace period (days)"), default=0)
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("deferral window")
        verbose_name_plural = _("deferral windows")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="deferral_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.starts_on}–{self.ends_on or '…'}"

    def as_rule(self) -> Window:
        kinds = {
            k
            for k, on in (
                (DeadlineKind.RENEWAL, self.covers_renewal),
                (DeadlineKind.REVIEW, self.covers_review),
                (DeadlineKind.INSPECTION, self.covers_inspection),
            )
            if on
        }
        return Window(self.starts_on, self.ends_on, frozenset(kinds), self.grace_days, self.name)


class DriverRecord(models.Model):
    """A driver's licence deadlines, keyed by a hash of the ID number (the number is not kept)."""

    #: Administrators list the drivers of their region only (accounts.access).
    region_lookup: ClassVar[str] = "region"

    id_digest = models.CharField(max_length=64, unique=True)
    id_masked = models.CharField(_("ID number"), max_length=18)
    name_masked = models.CharField(_("name"), max_length=20)
    mobile = models.CharField(max_length=11, blank=True)
    licence_classes = models.CharField(_("licence classes"), max_length=20)
    renewal_due = models.DateField(_("renewal due"))
    review_due = models.DateField(_("review due"), null=True, blank=True)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("registered in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"{self.name_masked} {self.id_masked}"


class VehicleRecord(models.Model):
    #: Administrators list the vehicles of their region only (accounts.access).
    region_lookup: ClassVar[str] = "region"

    plate = models.CharField(_("plate"), max_length=10, unique=True)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("registered in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    owner_digest = models.CharField(max_length=64, db_index=True)
    owner_mobile = models.CharField(max_length=11, blank=True)
    inspection_due = models.DateField(_("inspection due"))

    def __str__(self) -> str:
        return self.plate
