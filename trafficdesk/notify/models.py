from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("waiting to be sent")
    SENDING = "sending", _("being sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class DeliveryStatus(models.TextChoices):
    DELIVERED = "delivered", _("delivered to the phone")
    UNDELIVERED = "undelivered", _("not delivered to the phone")


class SmsMessage(models.Model):
    """The SMS outbox. A notice is written here in the transaction that decides it and sent
    by the background worker after the commit (notify.services). Once sent, only the masked
    recipient and the masked text are kept; the full number and text are blanked."""

    #: Staff read the outbox of their region only (accounts.access); a notice with no region
    #: (a citizen's login code) only province-level staff, and never its text.
    region_lookup: ClassVar[str] = "region"

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=40)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The region of the service point or application the notice is about."),
    )
    recipient_masked = models.CharField(_("recipient"), max_length=20)
    body = models.TextField(_("text"))
    backend = models.CharField(_("backend"), max_length=120, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SmsStatus.choices, default=SmsStatus.QUEUED
    )
    #: The last failure: the provider's code and message (notify.admin says it in plain words).
    error = models.CharField(_("last error"), max_length=300, blank=True)
    recipient = models.CharField(max_length=20, blank=True, editable=False)
    text = models.TextField(blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    claim = models.CharField(max_length=32, blank=True, editable=False, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    #: After a transient failure: not tried again before this (exponential back-off).
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    provider = models.CharField(_("provider"), max_length=20, blank=True)
    provider_message_id = models.CharField(
        _("provider message id"), max_length=64, blank=True, db_index=True
    )
    #: From the provider's delivery receipt: delivered, or undelivered (with its code).
    delivery_status = models.CharField(
        _("delivery"), max_length=12, choices=DeliveryStatus.choices, blank=True
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS outbox")
        default_permissions = ("view",)
        indexes = [models.Index(fields=["status", "created_at"], name="sms_pending")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.kind} → {self.recipient_masked}"
