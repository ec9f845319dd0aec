"""Fixtures of the regulator tests: a signed-in regulator, a populated log, an attacker."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from consents import log
from consents.models import LogEntry
from mydata_operator.identity.models import Person, Regulator
from tests.conftest import RawEditor, _log_triggers, _triggers, grant


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """The personas' passwords are hashed at setup; a slow hasher only slows the tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def regulator_client(regulator: Regulator) -> Client:
    """A signed-in regulator whose browser asks for English (the tests read English)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(regulator.user)
    return client


@pytest.fixture
def citizen_client(citizen: Person) -> Client:
    client = Client()
    assert citizen.user is not None
    client.force_login(citizen.user)
    return client


@pytest.fixture
def populated(citizen: Person, family: Any, provider: Any) -> int:
    """Consents of every kind, a change, a withdrawal and a few decisions."""
    from django.utils import timezone

    from consents import services
    from consents.policy import DecisionRequest, Flow, Recipient, decide_and_log

    consents = {
        kind: grant(citizen, kind)
        for kind in ("provider-sharing", "biobank", "needs-assessment", "wellbeing-sharing")
    }
    grant(family.child, "biobank", actor=family.guardian)
    for categories in (["conditions"], ["x-ray"]):
        decide_and_log(
            DecisionRequest(
                subject_id=citizen.id,
                flow=Flow.PROVIDER_ACCESS,
                recipient=Recipient(organisation=provider.organisation_id),
                at=timezone.now(),
                purpose="care",
                data_categories=frozenset(categories),
            ),
            requested_by=provider.organisation_id,
        )
    services.consent_withdraw(
        consent=consents["needs-assessment"],
        actor=services.Actor.person(citizen.id),
        reason="no longer",
    )
    log.log_integrate()  # as the integrator does after commit: the regulator reads the tree
    return LogEntry.objects.count()


Tamper = Callable[[str, list[Any]], None]


@pytest.fixture
def attacker(committed_db: None) -> Iterator[Tamper]:
    """Run SQL with the append-only triggers out of the way, as a database superuser could."""

    def run(sql: str, params: list[Any]) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
                cursor.execute(sql, params)
                cursor.execute("SET session_replication_role = origin")
        else:
            # Statements one by one, as at a SQL prompt: a schema editor would refuse to close
            # over the dangling references an attacker leaves behind.
            editor = RawEditor()
            _triggers.backwards(None, editor)
            _log_triggers.sqlite_triggers_backwards(editor)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = OFF")  # as a superuser could, too
                cursor.execute(sql, params)
                cursor.execute("PRAGMA foreign_keys = ON")
            _triggers.forwards(None, editor)
            _log_triggers.sqlite_triggers_forwards(editor)

    yield run
