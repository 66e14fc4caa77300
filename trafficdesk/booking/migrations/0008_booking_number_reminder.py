# Booking numbers (预约号) and the day-before reminder. The number is added without its
# constraint, every existing booking gets its own, then the column becomes unique and required.

from typing import Any

from django.db import migrations, models

import trafficdesk.booking.numbers


def number_existing(apps: Any, schema_editor: Any) -> None:
    """Give every existing booking its own number."""
    Booking = apps.get_model("booking", "Booking")
    given: set[str] = set()
    batch = []
    for booking in Booking.objects.filter(number__isnull=True).only("id").iterator(2000):
        number = trafficdesk.booking.numbers.new_number()
        while number in given:
            number = trafficdesk.booking.numbers.new_number()
        given.add(number)
        booking.number = number
        batch.append(booking)
        if len(batch) >= 2000:
            Booking.objects.bulk_update(batch, ["number"])
            batch = []
    Booking.objects.bulk_update(batch, ["number"])


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0007_rushrequest_fillfactor"),
    ]

    operations = [
        migrations.AddField(
            model_name="booking",
            name="number",
            field=models.CharField(max_length=8, null=True, editable=False),
        ),
        migrations.RunPython(number_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="booking",
            name="number",
            field=models.CharField(
                default=trafficdesk.booking.numbers.new_number,
                editable=False,
                help_text="Read aloud at the kiosk or to the clerk, instead of scanning the QR code.",
                max_length=8,
                unique=True,
                verbose_name="booking number",
            ),
        ),
        migrations.AddField(
            model_name="booking",
            name="reminded_at",
            field=models.DateTimeField(
                blank=True,
                help_text="The SMS reminder of the day before; cleared when the booking moves.",
                null=True,
                verbose_name="reminder sent at",
            ),
        ),
        migrations.AlterField(
            model_name="bookingevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("booked", "booked"),
                    ("moved", "moved to another slot"),
                    ("cancelled", "cancelled"),
                    ("rescheduled", "rescheduled"),
                    ("no_show", "marked no-show"),
                    ("allocated", "allocated in a draw"),
                    ("downgraded", "served as general public: priority not proven"),
                    ("reminded", "reminded the day before"),
                ],
                max_length=12,
            ),
        ),
    ]
