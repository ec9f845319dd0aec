"""The one list of append-only tables is what the database's triggers actually protect."""

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from consents.append_only import APPEND_ONLY_TABLES
from consents.models import IntegrityCheck


def trigger_tables() -> dict[str, set[str]]:
    """Table -> the operations its triggers refuse, read from the database's catalogue."""
    refused: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT event_object_table, event_manipulation FROM information_schema.triggers "
                "WHERE action_statement LIKE '%%tahto_refuse_change%%'"
            )
            rows = cursor.fetchall()
            cursor.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgname LIKE '%%no_truncate'"
            )
            rows += [(name, "TRUNCATE") for (name,) in cursor.fetchall()]
        else:
            cursor.execute("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
            rows = []
            for table, text in cursor.fetchall():
                for op in ("UPDATE", "DELETE"):
                    if f"BEFORE {op} ON {table}" in text and "append-only" in text:
                        rows.append((table, op))
    for table, op in rows:
        refused.setdefault(table, set()).add(op)
    return refused


def test_every_append_only_table_has_its_triggers(db: Any) -> None:
    refused = trigger_tables()
    wanted = {"UPDATE", "DELETE"} | ({"TRUNCATE"} if connection.vendor == "postgresql" else set())
    for table in APPEND_ONLY_TABLES:
        assert refused.get(table, set()) >= wanted, (table, refused.get(table))
    # and nothing is protected that the list forgets
    assert set(refused) <= set(APPEND_ONLY_TABLES)


def test_an_integrity_check_result_cannot_be_changed(db: Any) -> None:
    from django.utils import timezone

    now = timezone.now()
    check = IntegrityCheck.objects.create(started_at=now, finished_at=now, ok=False, source="t")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        IntegrityCheck.objects.filter(pk=check.pk).update(ok=True)
