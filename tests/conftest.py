"""Shared fixtures: personas, a frozen clock, throwaway signing keys, committed databases."""

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection

from consents import services
from consents.models import Consent, Mandate
from mydata_operator.identity.models import Person, Provider, Regulator
from schemas.hetu import make_hetu

pytest_plugins = ["tests.fixtures.live", "tests.fixtures.browser", "tests.fixtures.kanta"]

#: The frozen "now" of the tests. Validity periods are relative to it, never to the real date.
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

PROVIDER_OID = "1.2.246.10.1234567.10.0"
BIOBANK_OID = "1.2.246.10.7654321.10.1"
COUNTY_OID = "1.2.246.10.2345678.10.0"
APP_ID = "tahto-demo-wellbeing-app"


@pytest.fixture(autouse=True, scope="session")
def _signing_keys(tmp_path_factory: pytest.TempPathFactory) -> None:
    from django.conf import settings

    settings.TAHTO_KEY_DIR = tmp_path_factory.mktemp("keys")
    # A fast hasher for the test personas' passwords (the live service keeps the real one).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    """Each test starts with no request or failure counted (the counters live in the cache)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen_now() -> Iterator[datetime]:
    """Freeze the clock at NOW (ticking off), so validity periods never turn into time bombs."""
    with time_machine.travel(NOW, tick=False):
        yield NOW


def person(
    given: str, family: str, born: date, individual: int, username: str | None = None
) -> Person:
    user = None
    if username:
        user = get_user_model().objects.create_user(username, password=f"{username}-pass-1")
    return Person.objects.create(
        user=user,
        personal_identity_code=make_hetu(born, individual),
        given_name=given,
        family_name=family,
        birth_date=born,
    )


@pytest.fixture
def citizen(db: Any) -> Person:
    return person("Aino", "Virtanen", date(1985, 4, 12), 902, "aino")


@pytest.fixture
def other_citizen(db: Any) -> Person:
    return person("Eero", "Korhonen", date(1979, 11, 3), 903, "eero")


@dataclass
class Family:
    guardian: Person
    child: Person
    mandate: Mandate


@pytest.fixture
def family(db: Any, frozen_now: datetime) -> Family:
    guardian = person("Liisa", "Mäkinen", date(1980, 1, 20), 904, "liisa")
    child = person("Onni", "Mäkinen", date(2015, 6, 1), 905)
    mandate = services.mandate_create(
        principal_id=child.id,
        agent_id=guardian.id,
        basis=Mandate.Basis.GUARDIAN,
        valid_from=datetime(2015, 6, 1, tzinfo=UTC),
        valid_until=datetime(2033, 6, 1, tzinfo=UTC),
        actor=services.Actor.system("population-register"),
    )
    return Family(guardian, child, mandate)


@pytest.fixture
def provider(db: Any) -> Provider:
    return Provider.objects.create(
        organisation_id=PROVIDER_OID, name="Terveys Oy", kind=Provider.Kind.CARE_PROVIDER
    )


@pytest.fixture
def regulator(db: Any) -> Regulator:
    user = get_user_model().objects.create_user("valvoja", password="valvoja-pass-1")
    return Regulator.objects.create(user=user, organisation="Valvira")


# --- Scopes of the four kinds, valid against their schemas -------------------------------------


def provider_sharing_scope(**overrides: Any) -> dict[str, Any]:
    return {
        "recipient": {"organisation": PROVIDER_OID, "name": "Terveys Oy"},
        "dataCategories": ["conditions", "medications"],
        "purpose": "care",
        **overrides,
    }


def biobank_scope(**overrides: Any) -> dict[str, Any]:
    return {
        "biobank": {"organisation": BIOBANK_OID, "name": "Demo Biobank"},
        "samples": {"collect": True, "types": ["blood"], "existingSamples": False},
        "registerLinking": {"allowed": True, "sources": ["kanta"]},
        "dataCategories": ["samples", "register-data", "conditions"],
        "permission": {"code": "HMB"},
        "modifiers": ["NPU"],
        "recontact": False,
        **overrides,
    }


def needs_assessment_scope(**overrides: Any) -> dict[str, Any]:
    return {
        "senders": [{"organisation": COUNTY_OID, "name": "Demo wellbeing county"}],
        "channels": ["dashboard", "sms"],
        "lifeAreas": ["health", "mobility"],
        **overrides,
    }


def wellbeing_scope(**overrides: Any) -> dict[str, Any]:
    return {
        "dataCategories": ["blood-pressure", "steps"],
        "sources": [{"application": APP_ID, "name": "Demo wellbeing app"}],
        "targets": [
            {"type": "kanta-phr"},
            {"type": "provider", "recipient": {"organisation": PROVIDER_OID}},
        ],
        **overrides,
    }


SCOPES = {
    "provider-sharing": provider_sharing_scope,
    "biobank": biobank_scope,
    "needs-assessment": needs_assessment_scope,
    "wellbeing-sharing": wellbeing_scope,
}


def grant(subject: Person, kind: str, actor: Person | None = None, **kwargs: Any) -> Consent:
    scope = kwargs.pop("scope") if "scope" in kwargs else SCOPES[kind]()
    return services.consent_grant(
        subject_id=subject.id,
        actor=services.Actor.person((actor or subject).id),
        kind=kind,
        scope=scope,
        notice_text=kwargs.pop("notice_text", f"Notice shown for {kind}."),
        language="en",
        **kwargs,
    )


# --- Committed data (a live worker or server must see it) --------------------------------------


class _Triggers:
    """The append-only triggers of every migration that wrote some for all its tables (0002
    and 0010); 0006's SQLite triggers of the tables it rebuilt are in `_log_triggers`."""

    modules = [
        importlib.import_module("consents.migrations.0002_append_only_triggers"),
        importlib.import_module("consents.migrations.0010_append_only_witness_tables"),
    ]

    @classmethod
    def forwards(cls, apps: Any, editor: Any) -> None:
        for module in cls.modules:
            module.forwards(apps, editor)

    @classmethod
    def backwards(cls, apps: Any, editor: Any) -> None:
        for module in cls.modules:
            module.backwards(apps, editor)


_triggers = _Triggers
_log_triggers = importlib.import_module("consents.migrations.0006_log_sequence")


class RawEditor:
    """Just enough of a schema editor for the trigger migrations: runs each statement as is.

    A real SQLite schema editor checks every foreign key when it closes, and so would refuse
    to close over the dangling references a test's attacker leaves behind."""

    connection = connection

    def execute(self, sql: str, params: Any = None) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


@pytest.fixture
def _restore_append_only(django_db_blocker: Any) -> Iterator[None]:
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = origin")
        else:
            _triggers.forwards(None, RawEditor())
            _log_triggers.sqlite_triggers_forwards(RawEditor())


@pytest.fixture
def committed_db(_restore_append_only: None, transactional_db: None) -> Iterator[None]:
    """Data is really committed. At teardown the append-only triggers step aside only for
    the test database's flush, and are back before the next test."""
    yield
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    else:
        _triggers.backwards(None, RawEditor())
        _log_triggers.sqlite_triggers_backwards(RawEditor())


def days(n: float) -> timedelta:
    return timedelta(days=n)
