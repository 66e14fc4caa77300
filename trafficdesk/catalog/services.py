"""The business catalogue. Loaded from packaged CSV; afterwards edited in the admin."""

from __future__ import annotations

import csv
from pathlib import Path

from django.db import transaction

from trafficdesk.catalog.models import Business, BusinessCategory

DATA_DIR = Path(__file__).parent / "data"


@transaction.atomic
def load_catalogue(data_dir: Path = DATA_DIR) -> int:
    """Create or update the default categories and businesses; returns the number of businesses."""
    with (data_dir / "categories.csv").open(encoding="utf-8") as handle:
        categories = {
            row["code"]: BusinessCategory.objects.update_or_create(
                code=row["code"], defaults={"name_zh": row["name_zh"], "name_en": row["name_en"]}
            )[0]
            for row in csv.DictReader(handle)
        }
    count = 0
    with (data_dir / "businesses.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Business.objects.update_or_create(
                code=row["code"],
                defaults={
                    "category": categories[row["category"]],
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "online": row["online"] == "1",
                    "on_site_required": row["on_site_required"] == "1",
                    "service_minutes": int(row["service_minutes"]),
                    "deliverable": row["deliverable"],
                },
            )
            count += 1
    return count
