from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trafficdesk.regions.services import load_country, load_divisions


class Command(BaseCommand):
    help = (
        "Load one province's GB/T 2260 divisions (province, cities, counties), "
        "or the whole country with 'all' (checkpoint travellers come from anywhere)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("province", help="province code, e.g. 520000 for Guizhou, or all")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["province"]
        if code == "all":
            count = load_country()
            self.stdout.write(self.style.SUCCESS(f"{count} divisions of China loaded"))
            return
        if len(code) != 6 or not code.isdigit() or not code.endswith("0000"):
            raise CommandError(f"{code!r} is not a province code (6 digits ending in 0000)")
        try:
            count = load_divisions(code)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{count} divisions of {code} loaded"))
