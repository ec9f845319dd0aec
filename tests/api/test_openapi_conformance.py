"""schemathesis against the published description of the log and citizen APIs.

The provider API has its own run (tests/provider_api/test_openapi_conformance.py); this one
calls every operation tagged `log` (public, no credentials) and `citizen` (as a signed-in
citizen with a CSRF token) with generated inputs and checks each response against the
description: no server error, documented status and content type, body schema.
`positive_data_acceptance` is left out for the same reason as there: some rules (a period
must end in the future, a scope must match its kind) are not expressible in the schema.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import grant


@pytest.fixture
def wsgi_schema(db: Any) -> Iterator[Any]:
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def run_all(schema: Any, headers: dict[str, str]) -> dict[str, int]:
    failures: list[str] = []
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case: Any) -> None:
            key = f"{case.method} {case.path}"
            calls[key] = calls.get(key, 0) + 1
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    return calls


def test_log_api_conforms_to_its_description(
    wsgi_schema: Any, citizen: Any, frozen_now: Any
) -> None:
    grant(citizen, "provider-sharing")
    calls = run_all(wsgi_schema.include(tag_regex="^log$"), headers={})
    # Nine operations: tree head, checkpoint, its key, cosignatures, witnesses, the two
    # proofs, an entry by leaf index and by id. The tree head, checkpoint, its key and the
    # witness list take no input: one call each.
    assert len(calls) == 9, calls


def test_citizen_api_conforms_to_its_description(
    wsgi_schema: Any, citizen: Any, frozen_now: Any
) -> None:
    grant(citizen, "provider-sharing")
    client = Client()
    client.force_login(citizen.user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = get_token(RequestFactory().get("/"))
    headers = {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
        "X-CSRFToken": csrf,
    }
    calls = run_all(wsgi_schema.include(tag_regex="^citizen$"), headers=headers)
    assert len(calls) >= 9 and min(calls.values()) >= 3, calls
    assert get_user_model().objects.count() == 1


def test_regulator_api_conforms_to_its_description(
    wsgi_schema: Any, citizen: Any, regulator: Any, frozen_now: Any
) -> None:
    grant(citizen, "provider-sharing")
    client = Client()
    client.force_login(regulator.user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}
    calls = run_all(wsgi_schema.include(tag_regex="^regulator$"), headers=headers)
    assert len(calls) == 7, calls
