"""The business catalogue. Loaded from packaged CSV; afterwards edited in the admin, by a
province administrator (it is the same for the whole province)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from django.db import transaction

from trafficdesk.accounts import access
from trafficdesk.accounts.access import Actor
from trafficdesk.audit.services import save_recorded
from trafficdesk.catalog.models import Business, BusinessCategory
from trafficdesk.core.actions import Action

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
    materials = read_materials(data_dir)
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
                    **materials.get(row["code"], {}),
                },
            )
            count += 1
    return count


def read_materials(data_dir: Path = DATA_DIR) -> dict[str, dict[str, str]]:
    """The materials to bring per business code (materials.csv: items separated by "|"), as
    the model keeps them: one item per line, in Chinese and in English."""
    path = data_dir / "materials.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {
            row["code"]: {
                "materials_zh": "\n".join(i.strip() for i in row["materials_zh"].split("|")),
                "materials_en": "\n".join(i.strip() for i in row["materials_en"].split("|")),
            }
            for row in csv.DictReader(handle)
        }


BUSINESS_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "category",
    "online",
    "on_site_required",
    "service_minutes",
    "deliverable",
    "active",
    "materials_zh",
    "materials_en",
)
CATEGORY_FIELDS = ("code", "name_zh", "name_en")


def save_business(
    actor: Actor, business: Business, changed: Sequence[str] = BUSINESS_FIELDS
) -> Business:
    """Add or change a business of the province-wide catalogue (a province administrator)."""
    access.check(actor, Action.CATALOG_EDIT, business)
    return save_recorded(
        actor, business, fields=BUSINESS_FIELDS, changed=changed, action="business"
    )


def set_materials(
    actor: Actor, business: Business, chinese: Sequence[str], english: Sequence[str] = ()
) -> Business:
    """Replace the list of materials to bring for a business (one item a line)."""
    business.materials_zh = "\n".join(i.strip() for i in chinese if i.strip())
    business.materials_en = "\n".join(i.strip() for i in english if i.strip())
    return save_business(actor, business, ["materials_zh", "materials_en"])


def save_category(
    actor: Actor, category: BusinessCategory, changed: Sequence[str] = CATEGORY_FIELDS
) -> BusinessCategory:
    access.check(actor, Action.CATALOG_EDIT, category)
    return save_recorded(
        actor, category, fields=CATEGORY_FIELDS, changed=changed, action="businesscategory"
    )
