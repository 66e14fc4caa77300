from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from trafficdesk.checkpoint.services import purge_expired


class Command(BaseCommand):
    help = "Delete checkpoint registrations older than CHECKPOINT_RETENTION_DAYS (run daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{purge_expired()} registrations deleted")
