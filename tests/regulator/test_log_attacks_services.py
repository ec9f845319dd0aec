"""On PostgreSQL with a live Celery worker: each attack of the issue, made as the database
superuser, is noticed by `verify_log` and by the periodic integrity task run by the worker;
and the service's own database role can neither change the log nor switch its triggers off.
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from psycopg import sql

from consents import log as consent_log
from consents.append_only import APPEND_ONLY_TABLES
from consents.models import IntegrityCheck
from mydata_operator.regulator.tasks import log_integrity_check_task
from tests.regulator import attacks
from tests.regulator.conftest import Tamper
from tests.services.conftest import worker  # noqa: F401 - the live worker fixture

pytestmark = pytest.mark.services


def periodic_problems() -> str:
    """Have the live worker run the periodic check; return what it stored."""
    before = IntegrityCheck.objects.filter(source="periodic").count()
    log_integrity_check_task.delay()
    deadline = time.monotonic() + 60
    while IntegrityCheck.objects.filter(source="periodic").count() == before:
        assert time.monotonic() < deadline, "the worker did not run the integrity check"
        time.sleep(0.2)
    check = IntegrityCheck.objects.filter(source="periodic").latest("id")
    assert not check.ok
    return "\n".join(check.problems)


def verify_log_problems() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_log")
    assert caught.value.returncode == 1
    return str(caught.value)


ATTACKS: dict[str, Callable[[Tamper, Any], str]] = {
    "changed entry text": lambda tamper, _: attacks.change_entry_text(tamper),
    "deny turned into permit": lambda tamper, _: attacks.deny_into_permit(tamper),
    "deleted receipt": lambda tamper, _: attacks.delete_receipt(tamper),
    "consent with no history": lambda tamper, who: attacks.consent_without_history(tamper, who),
    "truncated tail, head rolled back": lambda tamper, _: (
        attacks.witness_cosigns_current(),
        attacks.truncate_tail(tamper),
    )[1],
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_is_noticed_by_verify_log_and_the_periodic_task(
    attack: str,
    attacker: Tamper,
    populated: int,
    citizen: Any,
    worker: Any,  # noqa: F811
) -> None:
    consent_log.tree_head_sign()
    expected = ATTACKS[attack](attacker, citizen.id)
    assert expected in verify_log_problems()
    assert expected in periodic_problems()


# --- the service's database role ---------------------------------------------------------------


@pytest.fixture
def service_connection(committed_db: None) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the service role that `manage.py db_roles` made for this database."""
    db = connection.settings_dict
    role = f"{db['NAME']}_service"
    call_command("db_roles", "--role", role, "--password", "service-pass")
    call_command("db_roles", "--role", role, "--password", "service-pass")  # idempotent
    conn = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        dbname=db["NAME"],
        user=role,
        password="service-pass",
        autocommit=True,
    )
    try:
        yield conn
    finally:
        conn.close()


REFUSED = [
    "UPDATE {t} SET {c} = {c}",
    "DELETE FROM {t}",
    "TRUNCATE {t}",
    "ALTER TABLE {t} DISABLE TRIGGER ALL",
    "ALTER TABLE {t} DISABLE TRIGGER {trigger}",
    "DROP TRIGGER {trigger} ON {t}",
]


def first_column(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position LIMIT 1",
            [table],
        )
        return str(cursor.fetchone()[0])


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_service_role_cannot_change_a_log_table_nor_its_triggers(
    table: str, service_connection: psycopg.Connection[Any], populated: int
) -> None:
    with service_connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        for statement in REFUSED:
            query = sql.SQL(statement).format(  # type: ignore[arg-type]
                t=sql.Identifier(table),
                c=sql.Identifier(first_column(table)),
                trigger=sql.Identifier(f"{table}_append_only"),
            )
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                cursor.execute(query)


def test_service_role_cannot_switch_triggers_off_for_its_session(
    service_connection: psycopg.Connection[Any],
) -> None:
    with service_connection.cursor() as cursor:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False)


def test_service_role_can_run_the_service(
    service_connection: psycopg.Connection[Any], populated: int
) -> None:
    """It appends to the log and changes ordinary tables (a consent's state) as the service does."""
    with service_connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO consents_notice (sha256, text, language, created_at) "
            "VALUES (%s, 'x', 'en', now())",
            ["f" * 64],
        )
        cursor.execute("UPDATE consents_consent SET updated_at = updated_at")
        assert cursor.rowcount > 0


def test_service_role_can_append_and_integrate(
    service_connection: psycopg.Connection[Any], populated: int
) -> None:
    """log_append and the integrator (leaves, nodes, a batch row, a signed head: INSERTs only,
    txid filled by the database, the advisory lock) run as the service role."""
    from django.db import transaction

    from consents.events import EventType
    from consents.models import LogBatch

    consent_log.log_integrate()  # nothing pending: the service role's batch is this entry
    before = consent_log.log_head().size
    db = connection.settings_dict
    saved = (db["USER"], db["PASSWORD"])
    connection.close()
    db["USER"], db["PASSWORD"] = f"{db['NAME']}_service", "service-pass"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == db["USER"]
        with transaction.atomic():
            entry = consent_log.log_append(event_type=EventType.AUDIT_QUERY, body={"q": "role"})
        assert entry.seq is None  # pending until integrated
        assert consent_log.log_integrate() == 1
        head = consent_log.tree_head_sign()
    finally:
        connection.close()
        db["USER"], db["PASSWORD"] = saved
    newest = LogBatch.objects.order_by("-size").first()
    assert newest is not None and head.tree_size == before + 1 == newest.size
    assert consent_log.entry_place(entry_id=entry.id).seq == before
