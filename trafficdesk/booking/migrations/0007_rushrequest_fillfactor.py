"""Room on each page of the applications table, so that the draw's one pass writing each
application's place and outcome (columns without an index) is a heap-only update on
PostgreSQL instead of a new entry in every index (docs/locking.md, bench rush_end_to_end)."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE booking_rushrequest SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE booking_rushrequest RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("booking", "0006_rush_eligibility_waiting_list")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
