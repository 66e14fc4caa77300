"""Each online application is answered by the online centre of the applicant's region
(online.services.centre_region); existing applications are routed the same way."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def route_existing(apps: Any, schema_editor: Any) -> None:
    """The same rule as online.services.centre_region, on the historical models."""
    application_model = apps.get_model("online", "OnlineApplication")
    region_model = apps.get_model("regions", "Region")
    point_model = apps.get_model("sites", "ServicePoint")
    served = set(point_model.objects.values_list("region__path", flat=True))
    provinces = list(region_model.objects.filter(code__in={p.split("/")[0] for p in served}))
    home = provinces[0] if len(provinces) == 1 else None

    def has_point(region: Any) -> bool:
        return any(p == region.path or p.startswith(region.path + "/") for p in served)

    for application in application_model.objects.filter(region__isnull=True).iterator():
        region = None
        if application.enterprise_id is not None:
            region = application.enterprise.region
        number = str(
            application.form_data.get("owner_id") or application.form_data.get("driver_id") or ""
        )
        if region is None and len(number) == 18 and number[:6].isdigit():
            code = number[:6]
            for candidate in dict.fromkeys([code, code[:4] + "00", code[:2] + "0000"]):
                found = region_model.objects.filter(code=candidate).first()
                if found is not None and has_point(found):
                    region = found
                    break
        application.region = region or home
        application.save(update_fields=["region"])


class Migration(migrations.Migration):
    dependencies = [
        ("online", "0003_alter_onlineapplication_status"),
        ("regions", "0001_initial"),
        ("sites", "0005_board_notice"),
        ("enterprises", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="onlineapplication",
            name="region",
            field=models.ForeignKey(
                blank=True,
                help_text=(
                    "The online centre that answers it: the applicant's region (from the ID "
                    "number, or the enterprise's); empty means the province's centre."
                ),
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="regions.region",
                verbose_name="online centre's region",
            ),
        ),
        migrations.RunPython(route_existing, migrations.RunPython.noop),
    ]
