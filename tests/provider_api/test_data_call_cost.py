"""What one consent-checked data call costs the database: a ceiling on its SQL statements."""

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from consents.models import Consent
from tests.fixtures.kanta import KantaStandIn
from tests.provider_api.conftest import ProviderClient
from tests.provider_api.test_data_access import fetch, token_for

#: Statements of one permitted data call on SQLite (PostgreSQL: see docs/benchmarks.md).
DATA_CALL_STATEMENTS = 99


def _statements(token: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        answer = fetch(token, "Condition")
    assert answer.status_code == 200, answer.content
    return [q["sql"] for q in queries.captured_queries]


def test_a_data_call_runs_no_more_statements_than_counted(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    kanta: KantaStandIn,
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    _statements(token)  # the first call warms nothing but caches; count the second
    statements = _statements(token)
    for sql in statements:
        print(sql[:160])
    assert len(statements) <= DATA_CALL_STATEMENTS, "\n".join(s[:120] for s in statements)


def test_the_bearer_token_is_checked_in_one_statement(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    kanta: KantaStandIn,
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    statements = _statements(token)
    token_reads = [s for s in statements if "oauth2_provider_accesstoken" in s]
    assert len(token_reads) == 1, token_reads


def _unused(*_: Any) -> None:
    return None
