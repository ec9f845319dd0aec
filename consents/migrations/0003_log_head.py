"""Create the single LogHead row that serialises appends (data migration)."""

from django.db import migrations


def forwards(apps, schema_editor):
    LogHead = apps.get_model("consents", "LogHead")
    LogHead.objects.get_or_create(id=1, defaults={"size": 0, "frontier": []})


class Migration(migrations.Migration):
    dependencies = [("consents", "0002_append_only_triggers")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
