"""The national read model: rows each province node writes for its own counties, replicated
to the national database by PostgreSQL logical replication (docs/adr/0003-province-databases.md).

Keys are GB/T 2260 codes, not foreign keys: a row may come from another province's database,
whose ids mean nothing here. The risk levels every province publishes are regions'
`CountyRisk` (the checkpoint rules read them)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CountySnapshot(models.Model):
    """A county's figures of the day, recomputed by its province node (refresh_snapshot)."""

    county_code = models.CharField(_("county"), max_length=6, primary_key=True)
    province_code = models.CharField(_("province"), max_length=2, db_index=True)
    windows_open = models.PositiveIntegerField(_("windows open"), default=0)
    bookings_today = models.PositiveIntegerField(_("bookings today"), default=0)
    capacity_today = models.PositiveIntegerField(_("capacity today (people)"), default=0)
    arrivals_from_risk_today = models.PositiveIntegerField(
        _("arrivals from risk areas today"), default=0
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["county_code"]
        verbose_name = _("county figures (national)")
        verbose_name_plural = _("county figures (national)")

    def __str__(self) -> str:
        return self.county_code


class ProvinceSnapshot(models.Model):
    """Figures kept per province only: online applications have no county."""

    province_code = models.CharField(_("province"), max_length=2, primary_key=True)
    online_backlog = models.PositiveIntegerField(_("online applications waiting"), default=0)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["province_code"]
        verbose_name = _("province figures (national)")
        verbose_name_plural = _("province figures (national)")

    def __str__(self) -> str:
        return self.province_code
