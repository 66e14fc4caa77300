"""Re-derive a draw from its published record and say whether it matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trafficdesk.booking import rush


class Command(BaseCommand):
    help = "Check a published draw record (draw-<id>.json): seed commitment and result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("record", help="the record file, as downloaded from the draw's page")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["record"])
        try:
            published = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        if "seed" not in published:
            raise CommandError("this draw has not been allocated yet: its record has no seed")
        problems = rush.verify_published(published)
        if problems:
            raise CommandError("the draw does NOT re-derive: " + "; ".join(problems))
        entrants = sum(1 for a in published["applications"] if a[4])
        self.stdout.write(
            f"draw {published['rush']}: the seed matches its commitment and the result "
            f"re-derives exactly ({entrants} entrants, {len(published['result'])} in the order)"
        )
