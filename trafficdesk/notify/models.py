from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SmsStatus(models.TextChoices):
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class SmsMessage(models.Model):
    """The SMS outbox: every message the system sent, with its number masked and secrets hidden."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=40)
    recipient_masked = models.CharField(_("recipient"), max_length=20)
    body = models.TextField(_("text"))
    backend = models.CharField(_("backend"), max_length=120)
    status = models.CharField(_("status"), max_length=10, choices=SmsStatus.choices)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS outbox")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.kind} → {self.recipient_masked}"
