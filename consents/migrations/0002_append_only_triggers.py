"""Make the log tables append-only inside the database itself.

UPDATE, DELETE (and on PostgreSQL TRUNCATE) on these tables raise an error, whoever asks:
the application, the admin, or someone at a SQL prompt without the rights to drop triggers.
"""

from django.db import migrations

APPEND_ONLY = [
    "consents_logentry",
    "consents_lognode",
    "consents_treehead",
    "consents_receipt",
    "consents_notice",
]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION tahto_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tahto: % on % refused: the consent log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)  # no %-interpolation of the RAISE format
        for table in APPEND_ONLY:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tahto_refuse_change();"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION tahto_refuse_change();"
            )
    elif vendor == "sqlite":
        for table in APPEND_ONLY:
            for op in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'tahto: {op} on {table} refused: "
                    "the consent log is append-only'); END;"
                )
    else:
        raise RuntimeError(f"No append-only triggers written for the {vendor} database")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in APPEND_ONLY:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")
        else:
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op};")


class Migration(migrations.Migration):
    dependencies = [("consents", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
