"""Give the entries logged before 0006 their leaves and the head its first LogBatch row.

Before 0006 an entry's id was its leaf index, so each existing entry becomes leaf `id`; the
old single LogHead row becomes the first batch. No app code is imported (the root of the
old head is folded here from its right edge, RFC 6962 node hashing).
"""

import hashlib

from django.db import migrations
from django.utils import timezone

EMPTY_ROOT = hashlib.sha256(b"").digest()


def _root(frontier):
    if not frontier:
        return EMPTY_ROOT
    acc = frontier[-1]
    for h in reversed(frontier[:-1]):
        acc = hashlib.sha256(b"\x01" + h + acc).digest()
    return acc


def forwards(apps, schema_editor):
    LogEntry = apps.get_model("consents", "LogEntry")
    LogLeaf = apps.get_model("consents", "LogLeaf")
    LogBatch = apps.get_model("consents", "LogBatch")
    LogHead = apps.get_model("consents", "LogHead")
    last = -1
    while True:
        rows = list(
            LogEntry.objects.filter(id__gt=last).order_by("id").values_list("id", "leaf_hash")[
                :5000
            ]
        )
        LogLeaf.objects.bulk_create(
            [LogLeaf(seq=i, entry_id=i, leaf_hash=bytes(h)) for i, h in rows]
        )
        if len(rows) < 5000:
            break
        last = rows[-1][0]
    head = LogHead.objects.filter(id=1).first()
    if head is not None and head.size:
        frontier = [bytes.fromhex(h) for h in head.frontier]
        LogBatch.objects.create(
            size=head.size,
            entries=head.size,
            frontier=head.frontier,
            root_hash=_root(frontier),
            horizon=0,
            integrated_at=timezone.now(),
        )
    if schema_editor.connection.vendor == "postgresql":
        # The id column became an identity column starting at 1: continue after the old ones.
        schema_editor.execute(
            "SELECT setval(pg_get_serial_sequence('consents_logentry', 'id'), "
            "COALESCE((SELECT MAX(id) FROM consents_logentry), 0) + 1, false);"
        )


class Migration(migrations.Migration):
    dependencies = [("consents", "0006_log_sequence")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
