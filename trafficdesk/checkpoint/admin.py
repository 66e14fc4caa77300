from __future__ import annotations

from django.contrib import admin

from trafficdesk.checkpoint.models import Checkpoint
from trafficdesk.core.admin import RegionScopedAdmin


@admin.register(Checkpoint)
class CheckpointAdmin(RegionScopedAdmin):
    list_display = ("code", "name_zh", "kind", "region", "road", "active")
    list_filter = ("kind", "active")
