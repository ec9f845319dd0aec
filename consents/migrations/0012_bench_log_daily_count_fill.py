"""Count the entries integrated before LogDailyCount existed (the integrator counts every
later batch). One GROUP BY over the log, in the database."""

import zoneinfo

from django.conf import settings
from django.db import migrations
from django.db.models import Count
from django.db.models.functions import TruncDate

KEY = ("day", "event_type", "kind", "recipient", "outcome")


def fill(apps, schema_editor):
    LogEntry = apps.get_model("consents", "LogEntry")
    LogDailyCount = apps.get_model("consents", "LogDailyCount")
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    groups = (
        LogEntry.objects.filter(leaf__isnull=False)
        .annotate(day=TruncDate("occurred_at", tzinfo=zone))
        .values_list(*KEY)
        .annotate(n=Count("id"))
        .order_by(*KEY)
    )
    LogDailyCount.objects.bulk_create(
        (LogDailyCount(**dict(zip(KEY, row[:5], strict=True)), entries=row[5]) for row in groups),
        batch_size=5000,
    )


class Migration(migrations.Migration):
    dependencies = [("consents", "0011_bench_log_daily_count")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
