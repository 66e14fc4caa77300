from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.vocabulary import RegionLevel, RiskLevel

__all__ = ["Region", "RegionLevel", "RiskAssessment", "RiskLevel"]


class Region(models.Model):
    """A GB/T 2260 administrative division. `path` holds the codes from the province down."""

    region_lookup: ClassVar[str] = ""

    code = models.CharField(_("GB/T 2260 code"), max_length=6, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    level = models.CharField(_("level"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=40, db_index=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.path = self.compute_path()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        if translation.get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_zh

    def compute_path(self) -> str:
        return f"{self.parent.path}/{self.code}" if self.parent else self.code

    def contains(self, other: Region) -> bool:
        """True if `other` is this region or lies inside it."""
        return other.path == self.path or other.path.startswith(self.path + "/")

    def subtree_q(self, lookup: str = "") -> models.Q:
        """Rows whose region (reached through `lookup`, "" for regions themselves) is this
        region or lies inside it — the one way region containment is asked in SQL."""
        prefix = f"{lookup}__" if lookup else ""
        return models.Q(**{f"{prefix}path": self.path}) | models.Q(
            **{f"{prefix}path__startswith": self.path + "/"}
        )

    def current_risk(self, at: object = None) -> RiskAssessment | None:
        moment = at or timezone.now()
        return (
            self.risk_assessments.filter(effective_from__lte=moment)
            .order_by("-effective_from", "-id")
            .first()
        )


class RiskAssessment(models.Model):
    """A county's risk level from a moment on. History is kept: entries are never changed."""

    region_lookup: ClassVar[str] = "region"

    region = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="risk_assessments",
        limit_choices_to={"level": RegionLevel.COUNTY},
    )
    level = models.CharField(_("risk level"), max_length=6, choices=RiskLevel.choices)
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
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")
        indexes = [models.Index(fields=["region", "-effective_from"])]

    def __str__(self) -> str:
        return f"{self.region.code} {self.level} @ {self.effective_from:%Y-%m-%d %H:%M}"


class CountyRisk(models.Model):
    """The risk level in force in a county, as its province published it: each province
    node writes its own counties' rows (national.services) and logical replication copies
    every province's rows to every node (national.replication), so a checkpoint here knows
    the level of an arrival's county in another province. Keyed by GB/T 2260 code, not a
    foreign key: a row may come from another province's database."""

    county_code = models.CharField(_("county"), max_length=6, primary_key=True)
    province_code = models.CharField(_("province"), max_length=2, db_index=True)
    level = models.CharField(_("risk level"), max_length=6, choices=RiskLevel.choices)
    since = models.DateTimeField(_("in force since"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["county_code"]
        verbose_name = _("county risk level (national)")
        verbose_name_plural = _("county risk levels (national)")

    def __str__(self) -> str:
        return f"{self.county_code} {self.level}"
