from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from trafficdesk.booking.numbers import new_number, spaced
from trafficdesk.core.vocabulary import (
    DEFAULT_CLASS,
    HOLDING_STATUSES,
    ApplicantClass,
    BookingStatus,
    ClaimKind,
    ClaimStatus,
    OfferStatus,
)


class Slot(models.Model):
    """A bookable period at a service point for one business group (category).

    Capacity is counted in window-minutes (a booking takes the service minutes of its
    businesses) and in people (the zone cap). Part of it is held for the priority classes
    until `priority_release_at`. The counters change only in booking.ledger, by conditional
    UPDATEs, never read-modify-write. A slot that belongs to a rush is not booked first come."""

    region_lookup: ClassVar[str] = "service_point__region"
    point_lookup: ClassVar[str] = "service_point"

    service_point = models.ForeignKey(
        "sites.ServicePoint",
        verbose_name=_("service point"),
        on_delete=models.CASCADE,
        related_name="slots",
    )
    category = models.ForeignKey(
        "catalog.BusinessCategory",
        verbose_name=_("business group"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity_minutes = models.PositiveIntegerField(_("capacity (window-minutes)"))
    capacity_people = models.PositiveIntegerField(_("capacity (people)"))
    priority_reserved_minutes = models.PositiveIntegerField(
        _("held for priority classes (minutes)"), default=0
    )
    priority_release_at = models.DateTimeField(_("held places released at"))
    booked_minutes = models.PositiveIntegerField(_("booked (window-minutes)"), default=0)
    booked_people = models.PositiveIntegerField(_("booked (people)"), default=0)
    booked_general_minutes = models.PositiveIntegerField(default=0)
    rush = models.ForeignKey(
        "booking.RushWindow", null=True, blank=True, on_delete=models.SET_NULL, related_name="slots"
    )

    class Meta:
        ordering = ["starts_at", "service_point_id", "category_id"]
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        constraints = [
            models.UniqueConstraint(
                fields=["service_point", "category", "starts_at"], name="slot_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(booked_minutes__lte=F("capacity_minutes")), name="slot_minutes_cap"
            ),
            models.CheckConstraint(
                condition=Q(booked_people__lte=F("capacity_people")), name="slot_people_cap"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["service_point", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.service_point_id}/{self.category_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def free_minutes(self) -> int:
        return self.capacity_minutes - self.booked_minutes


ACTIVE_STATUSES = HOLDING_STATUSES


class Booking(models.Model):
    """A citizen's hold on a slot, for one or more businesses at the same service point."""

    region_lookup: ClassVar[str] = "slot__service_point__region"
    point_lookup: ClassVar[str] = "slot__service_point"
    owner_field: ClassVar[str] = "holder"

    token = models.CharField(max_length=43, unique=True, editable=False)
    number = models.CharField(
        _("booking number"),
        max_length=8,
        unique=True,
        default=new_number,
        editable=False,
        help_text=_("Read aloud at the kiosk or to the clerk, instead of scanning the QR code."),
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("holder"),
        on_delete=models.PROTECT,
        related_name="bookings",
    )
    slot = models.ForeignKey(
        Slot, verbose_name=_("slot"), on_delete=models.PROTECT, related_name="bookings"
    )
    id_digest = models.CharField(max_length=64, db_index=True, editable=False)
    id_masked = models.CharField(_("ID number"), max_length=18)
    applicant_class = models.CharField(
        _("applicant class"), max_length=12, choices=ApplicantClass.choices, default=DEFAULT_CLASS
    )
    minutes = models.PositiveIntegerField(_("service minutes"))
    general_minutes = models.PositiveIntegerField(
        _("minutes counted outside the priority hold"),
        default=0,
        help_text=_("What this booking took of the general share; given back exactly."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=BookingStatus.choices, default=BookingStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("booked at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    moves = models.PositiveSmallIntegerField(_("times moved"), default=0)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True)
    reminded_at = models.DateTimeField(
        _("reminder sent at"),
        null=True,
        blank=True,
        help_text=_("The SMS reminder of the day before; cleared when the booking moves."),
    )
    rush_request = models.OneToOneField(
        "booking.RushRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="booking",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        indexes = [models.Index(fields=["status", "slot"])]

    def __str__(self) -> str:
        return f"booking {self.pk} ({self.get_status_display()})"

    @property
    def spaced_number(self) -> str:
        """The booking number as it is shown and read aloud: "7KQ4 M2XP"."""
        return spaced(self.number)


class BookingItem(models.Model):
    """One business of a booking. The partial unique constraint is the database's guarantee of
    one active booking per ID number per business."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="items")
    business = models.ForeignKey("catalog.Business", on_delete=models.PROTECT, related_name="+")
    id_digest = models.CharField(max_length=64)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["id_digest", "business"],
                condition=Q(active=True),
                name="one_active_booking_per_id_business",
            )
        ]

    def __str__(self) -> str:
        return f"{self.booking_id}:{self.business_id}"


class BookingEventKind(models.TextChoices):
    BOOKED = "booked", _("booked")
    MOVED = "moved", _("moved to another slot")
    CANCELLED = "cancelled", _("cancelled")
    RESCHEDULED = "rescheduled", _("rescheduled")
    NO_SHOW = "no_show", _("marked no-show")
    ALLOCATED = "allocated", _("allocated in a draw")
    DOWNGRADED = "downgraded", _("served as general public: priority not proven")
    REMINDED = "reminded", _("reminded the day before")


class BookingEvent(models.Model):
    """What happened to a booking and the notice its holder got."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=BookingEventKind.choices)
    at = models.DateTimeField(auto_now_add=True)
    detail = models.CharField(max_length=300, blank=True)
    from_slot = models.ForeignKey(
        Slot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notice = models.ForeignKey(
        "notify.SmsMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.booking_id} {self.kind}"


class CapacityRelease(models.Model):
    """Capacity from a cancelled booking, returned to the pool at a random moment within the
    anti-trading delay so that a place cannot be handed over by cancel-and-rebook."""

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="pending_releases")
    minutes = models.PositiveIntegerField()
    general_minutes = models.PositiveIntegerField(default=0)
    release_at = models.DateTimeField(db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["released_at", "release_at"])]

    def __str__(self) -> str:
        return f"release {self.minutes} min on slot {self.slot_id} at {self.release_at:%H:%M:%S}"


class IdempotencyKey(models.Model):
    """A client's retry key for POST /bookings: the same key returns the same answer."""

    key = models.CharField(max_length=80)
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["holder", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class RushStatus(models.TextChoices):
    OPEN = "open", _("taking applications")
    ALLOCATED = "allocated", _("allocated")


class RushWindow(models.Model):
    """An application window for contested slots (e.g. exams): requests are collected, then
    allocated by a published rule — priority class, then application date, then a seeded draw."""

    region_lookup: ClassVar[str] = "service_point__region"
    point_lookup: ClassVar[str] = "service_point"

    service_point = models.ForeignKey(
        "sites.ServicePoint", on_delete=models.CASCADE, related_name="rush_windows"
    )
    business = models.ForeignKey("catalog.Business", on_delete=models.PROTECT, related_name="+")
    opens_at = models.DateTimeField(_("applications open"))
    closes_at = models.DateTimeField(_("applications close"))
    seed = models.CharField(_("draw seed"), max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=RushStatus.choices, default=RushStatus.OPEN)
    allocated_at = models.DateTimeField(null=True, blank=True)
    result_digest = models.CharField(max_length=64, blank=True)
    places = models.JSONField(default=list, blank=True, help_text="[slot id, seats] as allocated")
    excluded = models.JSONField(
        default=list,
        blank=True,
        help_text="requests left out of the draw (policy closed, already booked)",
    )
    applicant_classes = models.JSONField(
        _("applicant classes who may apply"),
        default=list,
        blank=True,
        help_text="empty: every class the policy serves",
    )
    licence_classes = models.JSONField(
        _("licence classes examined"),
        default=list,
        blank=True,
        help_text="for exams: the licence class applied for must be one of these",
    )
    offer_hours = models.PositiveSmallIntegerField(_("hours to accept a freed place"), default=24)

    class Meta:
        verbose_name = _("rush window")
        verbose_name_plural = _("rush windows")

    def __str__(self) -> str:
        return f"rush {self.pk} {self.business_id} closes {self.closes_at:%Y-%m-%d %H:%M}"


class RushRequest(models.Model):
    owner_field: ClassVar[str] = "holder"

    rush = models.ForeignKey(RushWindow, on_delete=models.CASCADE, related_name="requests")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    id_digest = models.CharField(max_length=64)
    id_masked = models.CharField(max_length=18)
    applicant_class = models.CharField(
        max_length=12, choices=ApplicantClass.choices, default=DEFAULT_CLASS
    )
    applied_on = models.DateField(_("application date"))
    applied_at = models.DateTimeField(auto_now_add=True)
    licence_class = models.CharField(_("licence class applied for"), max_length=4, blank=True)
    vehicle = models.ForeignKey(
        "enterprises.Vehicle",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the fleet vehicle that proves a priority class",
    )
    won = models.BooleanField(null=True)
    draw_rank = models.PositiveIntegerField(
        _("place in the draw"),
        null=True,
        blank=True,
        help_text="1 = first in the published order; the waiting list follows the winners",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rush", "id_digest"], name="one_request_per_id_per_rush"
            )
        ]

    def __str__(self) -> str:
        return f"request {self.pk} in rush {self.rush_id}"


class RushOffer(models.Model):
    """A place freed after the draw (a cancellation, a no-show's released capacity), offered
    to the next applicant of the waiting list in draw order, to accept before `expires_at`.
    One offer per application: who lets it pass is not asked again."""

    owner_field: ClassVar[str] = "request__holder"
    region_lookup: ClassVar[str] = "request__rush__service_point__region"

    request = models.OneToOneField(RushRequest, on_delete=models.CASCADE, related_name="offer")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=10, choices=OfferStatus.choices, default=OfferStatus.PENDING
    )
    offered_at = models.DateTimeField(_("offered"))
    expires_at = models.DateTimeField(_("answer by"))
    decided_at = models.DateTimeField(null=True, blank=True)
    booking = models.OneToOneField(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("waiting-list offer")
        verbose_name_plural = _("waiting-list offers")
        indexes = [models.Index(fields=["status", "expires_at"], name="offer_due")]

    def __str__(self) -> str:
        return f"offer {self.pk}: {self.get_status_display()}"


class PriorityClaim(models.Model):
    """What proves a booking's priority class: a vehicle of an enterprise holding the class
    (GRANTED), or a permit with a photo of it, reviewed by the online centre (PENDING). The
    clerk confirms it at check-in or at the window, or downgrades it to the general public."""

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="claim")
    applicant_class = models.CharField(
        _("class claimed"), max_length=12, choices=ApplicantClass.choices
    )
    kind = models.CharField(_("proof"), max_length=10, choices=ClaimKind.choices)
    vehicle = models.ForeignKey(
        "enterprises.Vehicle", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims",
    )
    permit_number = models.CharField(_("permit or certificate number"), max_length=40, blank=True)
    evidence = models.FileField(_("photo of the permit"), upload_to="claims/%Y/%m/", blank=True)
    evidence_type = models.CharField(max_length=40, blank=True)
    id_digest = models.CharField(max_length=64, db_index=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=ClaimStatus.choices)
    review_due_at = models.DateTimeField(_("review due by"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    region_lookup: ClassVar[str] = "booking__slot__service_point__region"
    point_lookup: ClassVar[str] = "booking__slot__service_point"

    class Meta:
        verbose_name = _("priority claim")
        verbose_name_plural = _("priority claims")
        indexes = [models.Index(fields=["status", "review_due_at"], name="claim_review_queue")]

    def __str__(self) -> str:
        return f"{self.get_applicant_class_display()}: {self.get_status_display()}"


class EnterpriseDayUse(models.Model):
    """How many priority bookings an enterprise holds for one day: taken by a conditional
    UPDATE against PRIORITY_BOOKINGS_PER_ENTERPRISE_DAY (the fair share of the priority
    hold), given back when a booking leaves."""

    enterprise = models.ForeignKey(
        "enterprises.Enterprise", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "day"], name="enterprise_day_once"),
            models.CheckConstraint(condition=models.Q(used__gte=0), name="enterprise_day_used_ok"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.day}: {self.used}"
