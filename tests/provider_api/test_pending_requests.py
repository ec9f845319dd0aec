"""A consent request that names no citizen: whoever authorizes it becomes its subject."""

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import time_machine
from django.test import Client

from consents.models import Consent
from consents.states import Status
from mydata_operator.identity.models import Person
from tests.conftest import provider_sharing_scope
from tests.provider_api.conftest import (
    ProviderClient,
    authorize,
    authorize_params,
    exchange,
    pkce,
    pushed_query,
)

URL = "/api/v1/consent-requests"


def ask(pc: ProviderClient, now: datetime, **overrides: Any) -> Any:
    body = {
        "kind": "provider-sharing",
        "scope": provider_sharing_scope(),
        "period": {"end": (now + timedelta(days=30)).isoformat()},
        **overrides,
    }
    return Client().post(
        URL, body, content_type="application/json", HTTP_AUTHORIZATION=pc.auth_header
    )


def test_request_without_subject_is_received_and_makes_no_consent(
    provider_client: ProviderClient, frozen_now: datetime
) -> None:
    answer = ask(provider_client, frozen_now)
    assert answer.status_code == 201, answer.content
    assert answer.json()["consentStatus"] == "received"
    assert not Consent.objects.exists()


def test_the_citizen_who_authorizes_becomes_the_subject(
    provider_client: ProviderClient,
    citizen: Person,
    citizen_browser: Client,
    frozen_now: datetime,
) -> None:
    request_id = ask(provider_client, frozen_now).json()["consentId"]
    auth = authorize(citizen_browser, provider_client.client_id, request_id)
    token = exchange(Client(), provider_client, auth).json()
    consent = Consent.objects.get()
    assert consent.subject_id == citizen.id and consent.status == Status.ACTIVE
    assert token["authorization_details"][0]["consentId"] == str(consent.lineage)
    status = (
        Client().get(f"{URL}/{request_id}", HTTP_AUTHORIZATION=provider_client.auth_header).json()
    )
    assert status["consentId"] == str(consent.lineage) and status["consentStatus"] == "valid"


def test_a_pending_request_is_answered_only_once(
    provider_client: ProviderClient,
    citizen_browser: Client,
    other_citizen: Person,
    frozen_now: datetime,
) -> None:
    request_id = ask(provider_client, frozen_now).json()["consentId"]
    authorize(citizen_browser, provider_client.client_id, request_id)
    other = Client()
    assert other_citizen.user is not None
    other.force_login(other_citizen.user)
    _, challenge = pkce()
    answer = other.get(
        "/o/authorize/",
        pushed_query(
            provider_client, authorize_params(provider_client.client_id, request_id, challenge)
        ),
    )
    assert answer.status_code == 302
    assert parse_qs(urlparse(answer["Location"]).query)["error"] == [
        "invalid_authorization_details"
    ]
    assert Consent.objects.count() == 1


def test_an_expired_pending_request_cannot_be_authorized(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    request_id = ask(provider_client, frozen_now, requestValidForDays=1).json()["consentId"]
    _, challenge = pkce()
    with time_machine.travel(frozen_now + timedelta(days=2), tick=False):
        query = pushed_query(
            provider_client, authorize_params(provider_client.client_id, request_id, challenge)
        )
        browser = Client()
        assert citizen.user is not None
        browser.force_login(citizen.user)  # signed in then (sessions time out)
        answer = browser.get("/o/authorize/", query)
    assert parse_qs(urlparse(answer["Location"]).query)["error"] == ["access_denied"]


def test_provider_ends_a_pending_request(
    provider_client: ProviderClient, frozen_now: datetime
) -> None:
    request_id = ask(provider_client, frozen_now).json()["consentId"]
    gone = Client().delete(f"{URL}/{request_id}", HTTP_AUTHORIZATION=provider_client.auth_header)
    assert gone.status_code == 204
    status = Client().get(
        f"{URL}/{request_id}/status", HTTP_AUTHORIZATION=provider_client.auth_header
    )
    assert status.json() == {"consentStatus": "terminatedByProvider"}


def test_another_provider_cannot_see_a_pending_request(
    provider_client: ProviderClient, other_provider_client: ProviderClient, frozen_now: datetime
) -> None:
    request_id = ask(provider_client, frozen_now).json()["consentId"]
    answer = Client().get(
        f"{URL}/{request_id}", HTTP_AUTHORIZATION=other_provider_client.auth_header
    )
    assert answer.status_code == 404


def test_only_data_access_kinds_may_leave_the_subject_out(
    provider_client: ProviderClient, frozen_now: datetime
) -> None:
    scope = {
        "senders": [{"organisation": provider_client.provider.organisation_id}],
        "channels": ["dashboard"],
        "lifeAreas": ["health"],
    }
    answer = ask(provider_client, frozen_now, kind="needs-assessment", scope=scope)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["pointer"] == "/subject"
