"""The single LogHead row that serialised appends is gone: LogBatch rows replaced it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("consents", "0007_log_sequence_data")]
    operations = [migrations.DeleteModel(name="LogHead")]
