from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.vocabulary import DEFAULT_CLASS, IN_ZONE, ApplicantClass, TicketStatus

__all__ = ["IN_ZONE", "Call", "KioskDevice", "Ticket", "TicketCounter", "TicketStatus", "label_sql"]


def label_sql(alias: str) -> str:
    """Ticket.label in SQL over a ticket row: the prefix and the number, three digits at
    least (A007, A123, A1234)."""
    number = f"{alias}.number"
    return (
        f"({alias}.prefix || CASE WHEN {number} < 1000"
        f" THEN lpad({number}::text, 3, '0') ELSE {number}::text END)"
    )


class TicketCounter(models.Model):
    """The last number issued today for a prefix at a service point (A001, A002, ...)."""

    service_point = models.ForeignKey(
        "sites.ServicePoint", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    prefix = models.CharField(max_length=2)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service_point", "day", "prefix"], name="ticket_counter_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_point_id} {self.day} {self.prefix}{self.last:03d}"


class Ticket(models.Model):
    """An on-site queue number. Claimed by a window with a conditional UPDATE (status must
    still be 'waiting'), so two windows never get the same ticket."""

    region_lookup: ClassVar[str] = "service_point__region"
    point_lookup: ClassVar[str] = "service_point"

    service_point = models.ForeignKey(
        "sites.ServicePoint",
        verbose_name=_("service point"),
        on_delete=models.CASCADE,
        related_name="tickets",
    )
    zone = models.ForeignKey(
        "sites.Zone", verbose_name=_("zone"), on_delete=models.PROTECT, related_name="tickets"
    )
    business = models.ForeignKey(
        "catalog.Business", verbose_name=_("business"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField()
    prefix = models.CharField(max_length=2)
    number = models.PositiveIntegerField()
    applicant_class = models.CharField(
        _("applicant class"), max_length=12, choices=ApplicantClass.choices, default=DEFAULT_CLASS
    )
    booking = models.OneToOneField(
        "booking.Booking", null=True, blank=True, on_delete=models.SET_NULL, related_name="ticket"
    )
    on_time = models.BooleanField(_("booked and on time"), default=False)
    mobile = models.CharField(max_length=11, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=TicketStatus.choices)
    arrived_at = models.DateTimeField(_("arrived at"))
    admitted_at = models.DateTimeField(_("entered the zone at"), null=True, blank=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    window = models.ForeignKey(
        "sites.Window", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recalls = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["arrived_at", "id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(
                fields=["service_point", "day", "prefix", "number"], name="ticket_number_unique"
            )
        ]
        indexes = [
            models.Index(fields=["service_point", "status"]),
            models.Index(
                fields=["service_point", "status", "applicant_class", "on_time", "arrived_at"],
                name="ticket_queue_heads",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.prefix}{self.number:03d}"


class Call(models.Model):
    """Every call and recall, for the display board (read by server-sent events)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="calls")
    service_point = models.ForeignKey(
        "sites.ServicePoint", on_delete=models.CASCADE, related_name="+"
    )
    window_number = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=8)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.label} → {self.window_number}"


class KioskDevice(models.Model):
    """A kiosk screen registered by the hall's manager: only a registered kiosk (or a member
    of the hall's staff) may issue tickets. The secret is kept only as a keyed digest; until
    the screen is paired it is the one-time pairing code, then the kiosk's own token (kept in
    its cookie), so a pairing link that leaks after use opens nothing."""

    region_lookup: ClassVar[str] = "service_point__region"
    point_lookup: ClassVar[str] = "service_point"

    service_point = models.ForeignKey(
        "sites.ServicePoint",
        verbose_name=_("service point"),
        on_delete=models.CASCADE,
        related_name="kiosks",
    )
    name = models.CharField(_("kiosk name"), max_length=40)
    token_digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    paired_at = models.DateTimeField(_("paired at"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("switched off at"), null=True, blank=True)

    class Meta:
        ordering = ["service_point", "name", "id"]
        verbose_name = _("kiosk")
        verbose_name_plural = _("kiosks")

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
