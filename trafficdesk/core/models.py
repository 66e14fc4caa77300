from __future__ import annotations

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class BilingualName(models.Model):
    """Reference data named in Chinese, with an English name shown when English is active."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=160, blank=True)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        if translation.get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_zh


class LiveEvent(models.Model):
    """One event for live screens (core.live): written in the transaction that causes it, so a
    screen that reconnects catches up from its Last-Event-ID. Kept LIVE_EVENT_RETENTION_SECONDS."""

    channel = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)
    data = models.JSONField(default=dict)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["channel", "id"], name="live_event_channel_id")]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} #{self.pk}"
