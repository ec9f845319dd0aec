"""Concurrent appends on PostgreSQL: no lock among them, and the integrated log is gapless
and its tree right."""

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from consents import log, merkle
from consents.events import EventType
from consents.models import LogEntry

pytestmark = pytest.mark.services


def test_concurrent_appends_give_a_gapless_log_whose_root_is_right(committed_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with transaction.atomic():
                    log.log_append(event_type=EventType.DECISION_DENY, body={"w": n, "i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert log.log_integrate() == 100
    rows: list[Any] = list(LogEntry.objects.order_by("leaf__seq"))
    assert [r.seq for r in rows] == list(range(100))
    reference = merkle.ListSource.from_entries([r.entry.encode() for r in rows])
    assert log.log_head().root_hash == reference.root()
    assert log.root_at(100) == reference.root()
