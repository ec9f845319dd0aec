"""Sequence, then integrate: entries get an id at insert and a leaf index from the integrator.

LogEntry's primary key becomes an id assigned at insert (existing entries keep their old leaf
index as their id); LogLeaf maps leaf index to entry, LogBatch is the head after each
integration batch (an inserted row, not an updated one), and a receipt cites its entry by id.
On PostgreSQL each entry records the id of the transaction that inserted it (`txid`, xid8),
so the integrator knows which entries are committed. The new tables are append-only, and on
SQLite (whose ALTER rebuilds tables) the triggers of the rebuilt ones are written again.
"""

import django.db.models.deletion
from django.db import migrations, models

APPEND_ONLY = ["consents_logentry", "consents_receipt", "consents_logleaf", "consents_logbatch"]


def _sqlite_triggers(schema_editor, table):
    for op in ("UPDATE", "DELETE"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()};")
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'tahto: {op} on {table} refused: "
            "the consent log is append-only'); END;"
        )


def _pg_triggers(schema_editor, table):
    # tahto_refuse_change() is created by 0002_append_only_triggers.
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")
    schema_editor.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION tahto_refuse_change();"
    )
    schema_editor.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION tahto_refuse_change();"
    )


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # Filled by the database: the transaction that inserted the entry (see consents.log).
        schema_editor.execute(
            "ALTER TABLE consents_logentry "
            "ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();"
        )
        schema_editor.execute("CREATE INDEX log_txid ON consents_logentry (txid, id);")
        for table in APPEND_ONLY:
            _pg_triggers(schema_editor, table)
    elif vendor == "sqlite":
        sqlite_triggers_forwards(schema_editor)
    else:
        raise RuntimeError(f"No append-only triggers written for the {vendor} database")


def sqlite_triggers_forwards(schema_editor):
    """(Re)write the SQLite triggers of the tables above (tests restore them with this)."""
    for table in APPEND_ONLY:
        _sqlite_triggers(schema_editor, table)


def sqlite_triggers_backwards(schema_editor):
    for table in APPEND_ONLY:
        for op in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op};")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE consents_logentry DROP COLUMN IF EXISTS txid;")
    else:
        sqlite_triggers_backwards(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("consents", "0005_log_type_seq_index")]

    operations = [
        migrations.RemoveIndex(model_name="logentry", name="log_subject"),
        migrations.RemoveIndex(model_name="logentry", name="log_lineage"),
        migrations.RemoveIndex(model_name="logentry", name="log_recipient"),
        migrations.RemoveIndex(model_name="logentry", name="log_type_seq"),
        migrations.RenameField(model_name="logentry", old_name="seq", new_name="id"),
        migrations.AlterField(
            model_name="logentry",
            name="id",
            field=models.BigAutoField(
                help_text="Entry id, assigned at insert; not the leaf index",
                primary_key=True,
                serialize=False,
            ),
        ),
        migrations.AddIndex(
            model_name="logentry",
            index=models.Index(fields=["subject_id", "id"], name="log_subject"),
        ),
        migrations.AddIndex(
            model_name="logentry",
            index=models.Index(fields=["consent_lineage", "id"], name="log_lineage"),
        ),
        migrations.AddIndex(
            model_name="logentry",
            index=models.Index(fields=["recipient", "id"], name="log_recipient"),
        ),
        migrations.AddIndex(
            model_name="logentry",
            index=models.Index(fields=["event_type", "id"], name="log_type_seq"),
        ),
        migrations.CreateModel(
            name="LogLeaf",
            fields=[
                (
                    "seq",
                    models.BigIntegerField(
                        help_text="Leaf index, from 0, no gaps", primary_key=True, serialize=False
                    ),
                ),
                ("leaf_hash", models.BinaryField(help_text="SHA-256(0x00 || entry)", max_length=32)),
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="leaf",
                        to="consents.logentry",
                    ),
                ),
            ],
            options={"indexes": [models.Index(fields=["leaf_hash"], name="logleaf_hash")]},
        ),
        migrations.CreateModel(
            name="LogBatch",
            fields=[
                (
                    "size",
                    models.BigIntegerField(
                        help_text="Tree size after this batch", primary_key=True, serialize=False
                    ),
                ),
                ("entries", models.IntegerField(help_text="Entries this batch integrated")),
                (
                    "frontier",
                    models.JSONField(
                        default=list,
                        help_text="Hex hashes of the complete subtrees on the right edge, left first",
                    ),
                ),
                ("root_hash", models.BinaryField(max_length=32)),
                ("horizon", models.BigIntegerField(default=0)),
                ("integrated_at", models.DateTimeField()),
            ],
            options={
                "verbose_name_plural": "log batches",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(size__gte=0), name="logbatch_size_nonnegative"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(entries__gte=0), name="logbatch_entries"
                    ),
                ],
            },
        ),
        migrations.RenameField(model_name="receipt", old_name="log_seq", new_name="log_entry"),
        migrations.AlterField(
            model_name="receipt",
            name="log_entry",
            field=models.ForeignKey(
                help_text="The log entry this receipt is for (cited by id and leaf hash)",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="receipts",
                to="consents.logentry",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
