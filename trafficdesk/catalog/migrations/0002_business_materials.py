# The materials to bring per business, in Chinese and in English, filled for the businesses
# of the packaged catalogue that already exist (catalog/data/materials.csv).

import csv
from pathlib import Path
from typing import Any

from django.db import migrations, models

MATERIALS = Path(__file__).resolve().parent.parent / "data" / "materials.csv"


def fill_materials(apps: Any, schema_editor: Any) -> None:
    Business = apps.get_model("catalog", "Business")
    with MATERIALS.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Business.objects.filter(code=row["code"], materials_zh="").update(
                materials_zh="\n".join(i.strip() for i in row["materials_zh"].split("|")),
                materials_en="\n".join(i.strip() for i in row["materials_en"].split("|")),
            )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="business",
            name="materials_en",
            field=models.TextField(
                blank=True,
                help_text="One item per line, in the same order as the Chinese list.",
                verbose_name="materials to bring (English)",
            ),
        ),
        migrations.AddField(
            model_name="business",
            name="materials_zh",
            field=models.TextField(
                blank=True,
                help_text="One item per line, e.g. 身份证明; shown on the booking.",
                verbose_name="materials to bring (Chinese)",
            ),
        ),
        migrations.RunPython(fill_materials, migrations.RunPython.noop),
    ]
