from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.models import BilingualName
from trafficdesk.core.vocabulary import RegionLevel, ServicePointKind, WindowKind
from trafficdesk.sites.rules import lunch_problem


class ServicePoint(BilingualName):
    region_lookup: ClassVar[str] = "region"
    point_lookup: ClassVar[str] = ""

    code = models.CharField(_("code"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ServicePointKind.choices)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="service_points",
        limit_choices_to={"level": RegionLevel.COUNTY},
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    ppe_complete = models.BooleanField(_("protective equipment complete"), default=False)
    service_area_m2 = models.PositiveIntegerField(_("service area (m²)"), default=0)
    diversion_ease = models.PositiveSmallIntegerField(
        _("ease of crowd diversion (1-5)"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    designated_emergency = models.BooleanField(
        _("designated for emergency service"),
        default=False,
        help_text=_("At high risk only designated service points keep emergency windows open."),
    )
    opens_at = models.TimeField(_("opens at"), default="09:00")
    closes_at = models.TimeField(_("closes at"), default="17:00")
    lunch_starts_at = models.TimeField(
        _("lunch break starts at"),
        null=True,
        blank=True,
        default="12:00",
        help_text=_("No slot is offered over the lunch break. Leave both empty for none."),
    )
    lunch_ends_at = models.TimeField(
        _("lunch break ends at"), null=True, blank=True, default="13:30"
    )
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text=_("Degrees north (WGS 84), e.g. 26.64700; used for the distance to citizens."),
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        help_text=_("Degrees east (WGS 84), e.g. 106.63000."),
    )
    phone = models.CharField(
        _("public phone number"),
        max_length=20,
        blank=True,
        help_text=_("Shown to citizens, e.g. 0851-12345678."),
    )
    board_notice = models.CharField(
        _("notice on the call display"),
        max_length=200,
        blank=True,
        help_text=_("A line that scrolls along the bottom of the hall's call display."),
    )
    board_speaks_english = models.BooleanField(
        _("call in English too"),
        default=False,
        help_text=_("After the call in Chinese, the call display repeats it in English."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("service point")
        verbose_name_plural = _("service points")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        """A lunch break has both ends, inside the opening hours, and ends after it starts."""
        problem = lunch_problem(
            self.opens_at, self.closes_at, self.lunch_starts_at, self.lunch_ends_at
        )
        if problem:
            raise ValidationError({"lunch_ends_at": problem})

    @property
    def coordinates(self) -> tuple[float, float] | None:
        """(latitude, longitude) in degrees, or None when not recorded."""
        if self.latitude is None or self.longitude is None:
            return None
        return (float(self.latitude), float(self.longitude))


class Zone(BilingualName):
    """Part of a hall with an occupancy cap that is never exceeded (分区限流)."""

    region_lookup: ClassVar[str] = "service_point__region"
    point_lookup: ClassVar[str] = "service_point"

    service_point = models.ForeignKey(
        ServicePoint,
        verbose_name=_("service point"),
        on_delete=models.CASCADE,
        related_name="zones",
    )
    occupancy_cap = models.PositiveIntegerField(
        _("occupancy cap"), validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )
    is_open = models.BooleanField(_("open"), default=True)
    present = models.PositiveIntegerField(
        _("people inside now"),
        default=0,
        editable=False,
        help_text=_("Changed only by check-in and leaving, with a conditional UPDATE."),
    )

    class Meta:
        ordering = ["service_point__code", "id"]
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        constraints = [
            models.UniqueConstraint(fields=["service_point", "name_zh"], name="zone_name_unique"),
            models.CheckConstraint(
                condition=models.Q(occupancy_cap__gte=1), name="zone_cap_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(present__lte=models.F("occupancy_cap")),
                name="zone_never_over_cap",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_point.code} {self.name}"


class Window(models.Model):
    region_lookup: ClassVar[str] = "service_point__region"
    point_lookup: ClassVar[str] = "service_point"

    service_point = models.ForeignKey(
        ServicePoint,
        verbose_name=_("service point"),
        on_delete=models.CASCADE,
        related_name="windows",
    )
    zone = models.ForeignKey(
        Zone, verbose_name=_("zone"), on_delete=models.PROTECT, related_name="windows"
    )
    number = models.PositiveSmallIntegerField(_("window number"), validators=[MinValueValidator(1)])
    kind = models.CharField(
        _("kind"), max_length=10, choices=WindowKind.choices, default=WindowKind.NORMAL
    )
    businesses = models.ManyToManyField(
        "catalog.Business", verbose_name=_("businesses served"), related_name="windows", blank=True
    )
    is_open = models.BooleanField(_("open"), default=False)
    #: Raised by every change to the window or to what it serves (sites.apps); a console's
    #: call-next checks it in its claiming statement, so a process's cached copy of what this
    #: window serves is never used once it is out of date.
    revision = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["service_point__code", "number"]
        verbose_name = _("window")
        verbose_name_plural = _("windows")
        constraints = [
            models.UniqueConstraint(fields=["service_point", "number"], name="window_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service_point.code} #{self.number} ({self.get_kind_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Never write `revision` back: only its signal raises it (a copy read earlier must
        not set it back to a value a cache still trusts)."""
        if not self._state.adding and kwargs.get("update_fields") is None and not args:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "revision"
            ]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """A window stands in a zone of its own service point (sites.services refuses it too,
        for the pages, the admin and the API)."""
        if self.zone_id is None or self.service_point_id is None:
            return
        zone_point = Zone.objects.filter(pk=self.zone_id).values_list("service_point_id", flat=True)
        if zone_point.first() != self.service_point_id:
            raise ValidationError(
                {"zone": _("A window belongs to a zone of its own service point.")}
            )
