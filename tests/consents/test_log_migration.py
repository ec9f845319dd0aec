"""Entries logged before sequence-then-integrate (v1, leaf index inside) survive the move."""

import pytest
import rfc8785
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from consents import merkle

BEFORE = [("consents", "0005_log_type_seq_index")]


def _migrate(target: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


def test_v1_entries_become_leaves_and_the_log_goes_on(committed_db: None) -> None:
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("consents")
    _migrate(BEFORE)
    try:
        entries: list[bytes] = []
        frontier: list[bytes] = []
        with connection.cursor() as cur:
            for seq in range(5):
                raw = rfc8785.dumps(
                    {
                        "v": 1,
                        "seq": seq,
                        "type": "decision.deny",
                        "time": "2026-03-02T09:30:00.000000Z",
                    }
                )
                leaf = merkle.leaf_hash(raw)
                entries.append(raw)
                cur.execute(
                    "INSERT INTO consents_logentry (seq, event_type, occurred_at, kind, recipient,"
                    " purpose, outcome, entry, leaf_hash) VALUES (%s, 'decision.deny', %s, '', '',"
                    " '', '', %s, %s)",
                    [seq, "2026-03-02 09:30:00", raw.decode(), leaf],
                )
                frontier, nodes = merkle.frontier_append(frontier, seq, leaf)
                for level, index, h in nodes:
                    cur.execute(
                        "INSERT INTO consents_lognode (key, hash) VALUES (%s, %s)",
                        [index << 6 | level, h],
                    )
            cur.execute("DELETE FROM consents_loghead")
            cur.execute(
                "INSERT INTO consents_loghead (id, size, frontier) VALUES (1, 5, %s)",
                ['["' + '","'.join(h.hex() for h in frontier) + '"]'],
            )
    finally:
        _migrate(latest)
    from django.db import transaction

    from consents import log
    from consents.models import LogEntry
    from mydata_operator.regulator.integrity import verify_stored_log

    assert log.log_head() == log.Head(5, merkle.ListSource.from_entries(entries).root())
    assert [(e.id, e.seq) for e in LogEntry.objects.order_by("leaf__seq")] == [
        (i, i) for i in range(5)
    ]
    with transaction.atomic():
        row = log.log_append(event_type="decision.deny")
    assert row.id == 5  # ids go on after the old leaf indexes
    assert log.log_integrate() == 1
    entries.append(row.entry.encode())
    assert log.log_head().root_hash == merkle.ListSource.from_entries(entries).root()
    assert verify_stored_log().entries == 6  # v1 entries still say their own seq: checked
    for table in ("consents_logentry", "consents_logleaf"):  # append-only again after rebuild
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names
