from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PolicyVersion(models.Model):
    """One version of the reopening policy document. Versions are never edited: a change is a
    new version, effective from a moment on."""

    document = models.JSONField(_("policy document"))
    effective_from = models.DateTimeField(_("effective from"), default=timezone.now, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-effective_from", "-id"]
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")

    def __str__(self) -> str:
        return f"v{self.pk} @ {self.effective_from:%Y-%m-%d %H:%M}"


class PhaseSetting(models.Model):
    """A region's reopening phase from a moment on (R3). A county follows its own setting,
    else its city's, else its province's; the risk level caps it."""

    region_lookup: ClassVar[str] = "region"

    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="phase_settings",
    )
    phase = models.PositiveSmallIntegerField(
        _("phase"), validators=[MinValueValidator(0), MaxValueValidator(3)]
    )
    effective_from = models.DateTimeField(_("effective from"), default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=300)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["region__code", "-effective_from", "-id"]
        verbose_name = _("phase setting")
        verbose_name_plural = _("phase settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(phase__gte=0, phase__lte=3), name="phase_0_to_3"
            )
        ]

    def __str__(self) -> str:
        return f"{self.region.code} phase {self.phase} @ {self.effective_from:%Y-%m-%d %H:%M}"


class EventKind(models.TextChoices):
    RISK_CHANGED = "risk_changed", _("risk level changed")
    PHASE_CHANGED = "phase_changed", _("phase changed")
    POLICY_CHANGED = "policy_changed", _("policy changed")


class DomainEvent(models.Model):
    """A change that may close what bookings need. Later work (rebooking) consumes these;
    `handled_at` marks the ones it has dealt with."""

    #: Administrators read the events of their region; one with no region (a province-wide
    #: policy change) only province-level ones (accounts.access).
    region_lookup: ClassVar[str] = "region"

    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    effective_from = models.DateTimeField(_("effective from"))
    summary = models.CharField(_("summary"), max_length=300)
    payload = models.JSONField(_("detail"), default=dict)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True, db_index=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("domain event")
        verbose_name_plural = _("domain events")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"
