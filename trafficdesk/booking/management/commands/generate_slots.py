from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from trafficdesk.booking.services import generate_slots
from trafficdesk.sites.models import ServicePoint


class Command(BaseCommand):
    help = "Create or refresh the bookable slots of every service point for the coming days (run daily)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=settings.BOOKING_DAYS_AHEAD)

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        total = 0
        for point in ServicePoint.objects.select_related("region"):
            for offset in range(options["days"]):
                total += generate_slots(point, today + timedelta(days=offset))
        self.stdout.write(self.style.SUCCESS(f"{total} slots created or refreshed"))
