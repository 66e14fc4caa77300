from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from trafficdesk.national.services import refresh_snapshot


class Command(BaseCommand):
    help = "Recompute this node's rows of the national view (run it every few minutes)."
    requires_system_checks: list[str] = []  # a database job, run from timers and scripts

    def handle(self, *args: Any, **options: Any) -> None:
        done = refresh_snapshot()
        self.stdout.write(
            f"{done.counties} counties, {done.risk_rows} risk levels, "
            f"online backlog {done.online_backlog}"
        )
