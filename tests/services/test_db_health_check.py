"""The kept connection's health check (mydata_operator.pgbackend): a connection idle past
TAHTO_DB_HEALTH_CHECK_IDLE_SECONDS is checked and replaced when the server dropped it; one
that answered a moment ago is not checked (its next query is the check)."""

import time
from typing import Any

import pytest
from django.db import OperationalError, connection

from tests.services.conftest import other_connection

pytestmark = pytest.mark.services


def _server_drops_our_connection() -> None:
    """What a server restart does to a kept connection: the server ends its backend."""
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with other_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    committed_db: None, settings: Any
) -> None:
    settings.TAHTO_DB_HEALTH_CHECK_IDLE_SECONDS = 0
    _server_drops_our_connection()
    connection.close_if_unusable_or_obsolete()  # a request starts
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_connection_used_a_moment_ago_is_not_checked(committed_db: None, settings: Any) -> None:
    settings.TAHTO_DB_HEALTH_CHECK_IDLE_SECONDS = 3600
    _server_drops_our_connection()
    connection.close_if_unusable_or_obsolete()  # a request starts
    try:
        # No SELECT 1 ran first: the request's own query is the check, and fails.
        with pytest.raises(OperationalError), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()
