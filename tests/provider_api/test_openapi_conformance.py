"""schemathesis against the published OpenAPI description of the provider API.

Every provider operation is called with generated inputs (as a registered provider, so the
calls get past authentication) and each response is checked against the description with
schemathesis' default checks: no server error, documented status code, content type,
headers and body schema, schema-invalid input rejected. One check is left out:
`positive_data_acceptance` (every schema-valid body must succeed) cannot hold, because some
rules are not expressible in the schema: a period must end in the future, a scope must
match the schema of its kind, a provider may name only itself.
"""

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from schemas.hetu import make_hetu
from tests.provider_api.conftest import ProviderClient

# Valid personal identity codes (temporary 9xx range), so generated bodies can pass that check.
schemathesis.openapi.format(
    "fi-hetu",
    st.builds(make_hetu, st.dates(date(1900, 1, 1), date(2025, 12, 31)), st.integers(900, 999)),
)


@pytest.fixture
def api_schema(db: Any) -> Iterator[Any]:
    # As Django's test client does: the WSGI handler must not close the test's connection
    # (and its transaction) at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
        yield schema.include(tag_regex="^provider")
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_provider_api_conforms_to_its_description(
    api_schema: Any, provider_client: ProviderClient
) -> None:
    failures: list[str] = []
    calls: dict[str, int] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            key = f"{case.method} {case.path}"
            calls[key] = calls.get(key, 0) + 1
            case.call_and_validate(
                headers={"Authorization": provider_client.auth_header},
                excluded_checks=[positive_data_acceptance],
            )

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    # 11 provider API operations and the decision service's two (its calls with the client's
    # Basic credentials are 401: it takes a signed JWT, tested in test_cds.py).
    # (Discovery takes no input, so one example is all there is.)
    assert len(calls) == 13 and calls.pop("GET /cds-services") >= 1, calls
    assert min(calls.values()) >= 5, calls


def test_description_covers_every_provider_operation(api_schema: Any) -> None:
    paths = {op.ok().path for op in api_schema.get_all_operations()}
    assert {
        "/api/v1/consent-requests",
        "/api/v1/consent-requests/{consent_id}",
        "/api/v1/consent-requests/{consent_id}/status",
        "/api/v1/data/{resource_type}",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{webhook_id}",
        "/api/v1/wellbeing/observations",
        "/api/v1/needs-assessment/offers",
        "/api/v1/research-requests",
        "/cds-services",
        "/cds-services/{service_id}",
    } <= paths
