"""What one consent-checked data call costs the database: a ceiling on its SQL statements.

Counted inside the test's transaction, where the call's own transaction is a savepoint; in
production it is BEGIN ... COMMIT, and on PostgreSQL the decision takes the subject's
consent lock too. README, "Serving", has the figures before and after."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from consents.models import Consent
from tests.fixtures.kanta import KantaStandIn
from tests.provider_api.conftest import ProviderClient
from tests.provider_api.test_data_access import fetch, token_for

#: One permitted data call: the token check (1), the DPoP proof's jti recorded once (1, an
#: INSERT … ON CONFLICT DO NOTHING without a savepoint), the call's transaction (savepoint
#: and release, 2), the decision (consents read, entry appended: 2; PostgreSQL also takes the
#: consent lock: 1), the subject's identity code for Kanta (1), the delivery entry (1).
#: The daily limit (the default one when the scope names none) counts the last day's permits (1).
DATA_CALL_STATEMENTS = {"sqlite": 9, "postgresql": 10}


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
    statements = _statements(token)
    ceiling = DATA_CALL_STATEMENTS[connection.vendor]
    assert len(statements) <= ceiling, "\n".join(s[:120] for s in statements)


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
    (read,) = token_reads
    # Token, client, provider and consent binding come with it: nothing else reads them.
    for table in ("provider_api_tokenbinding", "identity_provider", "provider_api_consentauth"):
        assert table in read
        assert sum(table in s for s in statements) == 1, table
