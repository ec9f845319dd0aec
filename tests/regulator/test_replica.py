"""The regulator on a PostgreSQL streaming replica (mydata_operator.replica).

The tests marked `replica` need a real primary and a real standby streaming from it
(`bin/pg-replica-pair start`; .ci/run runs them with DATABASE_URL on the primary and
DATABASE_REPLICA_URL on the standby). The others run everywhere: with no replica configured,
everything reads and writes the one database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from consents import log
from consents.events import EventType
from consents.models import LogEntry, TreeHead
from mydata_operator import replica
from mydata_operator.identity.models import Person
from tests.conftest import grant

# --- Without a replica -----------------------------------------------------------------------


def test_without_a_replica_reads_and_writes_go_to_the_one_database(db: Any) -> None:
    assert not replica.replica_configured()
    with replica.replica_reads() as alias:
        assert alias == DEFAULT_DB_ALIAS
        assert router.db_for_read(LogEntry) == DEFAULT_DB_ALIAS
        assert router.db_for_write(LogEntry) == DEFAULT_DB_ALIAS


def test_only_the_primary_is_migrated() -> None:
    r = replica.ReplicaRouter()
    assert r.allow_migrate(DEFAULT_DB_ALIAS, "consents")
    assert not r.allow_migrate(replica.REPLICA, "consents")


def test_without_a_replica_the_regulator_search_reads_the_one_database(
    regulator_client: Client, populated: int
) -> None:
    response = regulator_client.get("/regulator/api/entries")
    assert response.status_code == 200
    assert response.json()["items"]
    assert response.json()["items"][0]["seq"] == log.log_head().size - 1


# --- On a real streaming replica -------------------------------------------------------------


@pytest.fixture
def replica_db(request: pytest.FixtureRequest, _restore_append_only: None) -> Iterator[None]:
    """Committed data on the primary, which the standby replays; both aliases usable.

    As `committed_db`, but the django_db marker (which names the replica) is added here, after
    the append-only guard's fixture, so the test database's flush runs between the two."""
    request.node.add_marker(
        pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, replica.REPLICA])
    )
    request.getfixturevalue("transactional_db")
    yield
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # for the flush only


def _scalar(alias: str, sql: str, params: list[Any] | None = None) -> Any:
    with connections[alias].cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchone()[0]


def _wait_for_replay(timeout: float = 20.0) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    # The insert position: with asynchronous commit a commit may be past the write position.
    target = _scalar(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_insert_lsn()::text")
    deadline = time.monotonic() + timeout
    while not _scalar(replica.REPLICA, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]):
        assert time.monotonic() < deadline, f"the replica did not replay up to {target}"
        time.sleep(0.05)


@pytest.fixture
def paused_replica(replica_db: None, populated: int) -> Iterator[int]:
    """The standby stops replaying (it keeps receiving): it lags behind the primary."""
    _wait_for_replay()
    _scalar(replica.REPLICA, "SELECT pg_wal_replay_pause()::text")
    deadline = time.monotonic() + 10
    while _scalar(replica.REPLICA, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        yield log.log_head().size  # what the replica holds
    finally:
        _scalar(replica.REPLICA, "SELECT pg_wal_replay_resume()::text")


def _log_queries(queries: CaptureQueriesContext) -> list[str]:
    tables = ("consents_logentry", "consents_logleaf", "consents_logbatch", "consents_treehead")
    return [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in tables)]


@pytest.mark.replica
@pytest.mark.parametrize(
    "path",
    ["/regulator/", "/regulator/api/entries", "/regulator/statistics/", "/regulator/export/"],
)
def test_regulator_reads_the_log_from_the_replica_and_appends_its_audit_to_the_primary(
    replica_db: None, regulator_client: Client, populated: int, path: str
) -> None:
    _wait_for_replay()
    assert _scalar(replica.REPLICA, "SELECT pg_is_in_recovery()") is True
    assert _scalar(DEFAULT_DB_ALIAS, "SELECT pg_is_in_recovery()") is False
    audits = LogEntry.objects.filter(event_type=EventType.AUDIT_QUERY).count()
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
        CaptureQueriesContext(connections[replica.REPLICA]) as on_standby,
    ):
        response = regulator_client.get(path)
    assert response.status_code == 200
    standby_log = _log_queries(on_standby)
    primary_log = _log_queries(on_primary)
    assert standby_log  # the head, the entries, the counts: read on the standby
    # The only log statement on the primary is the audit entry's INSERT.
    assert primary_log and all(sql.lstrip().upper().startswith("INSERT") for sql in primary_log)
    assert LogEntry.objects.filter(event_type=EventType.AUDIT_QUERY).count() == audits + 1


def _more_entries(citizen: Person, n: int = 3) -> int:
    for _ in range(n):
        grant(citizen, "biobank")
    log.log_integrate()
    return log.log_head().size


@pytest.mark.replica
def test_a_lagging_replica_shows_its_own_head_and_only_the_entries_under_it(
    paused_replica: int, regulator_client: Client, citizen: Person
) -> None:
    replica_size = paused_replica
    primary_size = _more_entries(citizen)
    assert primary_size > replica_size
    assert TreeHead.objects.filter(tree_size=primary_size).exists()  # signed on the primary

    head = regulator_client.get("/regulator/api/tree-head").json()
    assert head["tree_head"]["tree_size"] == replica_size
    assert head["consistent"] is True

    items = regulator_client.get("/regulator/api/entries?limit=100").json()["items"]
    assert items and max(e["seq"] for e in items) == replica_size - 1

    # The newest entry the replica holds is proven against the replica's head...
    entry = regulator_client.get(f"/regulator/api/entries/{replica_size - 1}").json()
    assert entry["tree_head"]["tree_size"] == replica_size
    assert entry["verified"] is True
    # ... and an entry only the primary holds is not there yet: not found, not an error.
    assert regulator_client.get(f"/regulator/api/entries/{primary_size - 1}").status_code == 404

    export = regulator_client.get("/regulator/export/entries.jsonl")
    assert export["X-Tahto-Tree-Size"] == str(replica_size)
    body = b"".join(export.streaming_content)  # type: ignore[attr-defined]  # a streamed response
    rows = [json.loads(line) for line in body.splitlines()]
    assert rows and max(row["seq"] for row in rows) < replica_size

    _scalar(replica.REPLICA, "SELECT pg_wal_replay_resume()::text")

    _wait_for_replay()
    head = regulator_client.get("/regulator/api/tree-head").json()
    assert head["tree_head"]["tree_size"] == primary_size


@pytest.mark.replica
def test_inside_a_transaction_on_the_primary_reads_stay_on_the_primary(
    replica_db: None,
) -> None:
    with replica.replica_reads() as alias:
        assert alias == replica.REPLICA
        assert router.db_for_read(LogEntry) == replica.REPLICA
        assert router.db_for_write(LogEntry) == DEFAULT_DB_ALIAS
        with transaction.atomic():
            assert router.db_for_read(LogEntry) == DEFAULT_DB_ALIAS
        # One snapshot: the replica's view does not move within the block.
        assert _scalar(replica.REPLICA, "SHOW transaction_isolation") == "repeatable read"
        assert _scalar(replica.REPLICA, "SHOW transaction_read_only") == "on"
    assert router.db_for_read(LogEntry) == DEFAULT_DB_ALIAS


@pytest.mark.replica
def test_an_unreachable_replica_falls_back_to_the_primary(
    replica_db: None, regulator_client: Client, populated: int, caplog: Any
) -> None:
    settings_dict = connections[replica.REPLICA].settings_dict
    port = settings_dict["PORT"]
    connections[replica.REPLICA].close()
    settings_dict["PORT"] = "5439"  # nothing listens here
    try:
        with replica.replica_reads() as alias:
            assert alias == DEFAULT_DB_ALIAS
            assert router.db_for_read(LogEntry) == DEFAULT_DB_ALIAS
        response = regulator_client.get("/regulator/api/entries")
        assert response.status_code == 200
        assert response.json()["items"][0]["seq"] == log.log_head().size - 1
        assert "cannot be reached" in caplog.text
    finally:
        connections[replica.REPLICA].close()
        settings_dict["PORT"] = port
