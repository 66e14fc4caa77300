from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from trafficdesk.notify.delivery import deliver_pending


class Command(BaseCommand):
    help = "Send every notice still waiting in the SMS outbox (the worker does this by itself)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{deliver_pending()} notices sent")
