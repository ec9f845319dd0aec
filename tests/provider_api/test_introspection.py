"""RFC 7662 introspection and RFC 8414 metadata."""

from datetime import datetime, timedelta

import time_machine
from django.test import Client

from consents import services
from consents.models import Consent
from mydata_operator.identity.models import Person
from tests.provider_api.conftest import ProviderClient, authorize, exchange


def _token(browser: Client, pc: ProviderClient, consent: Consent) -> str:
    return str(
        exchange(Client(), pc, authorize(browser, pc.client_id, consent.id)).json()["access_token"]
    )


def introspect(pc: ProviderClient, token: str) -> dict[str, object]:
    answer = Client().post("/o/introspect/", {"token": token, **pc.assertion_form()})
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def test_introspection_names_the_consent_and_its_authorization_details(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    data = introspect(provider_client, _token(citizen_browser, provider_client, consent_request))
    assert data["active"] is True
    assert data["consent_id"] == str(consent_request.id)
    assert data["authorization_details"] == [
        {"type": "tahto_consent", "consentId": str(consent_request.id)}
    ]
    assert data["client_id"] == provider_client.client_id


def test_introspection_is_inactive_once_the_consent_is_withdrawn(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    citizen: Person,
) -> None:
    token = _token(citizen_browser, provider_client, consent_request)
    services.consent_withdraw(
        consent=Consent.objects.get(id=consent_request.id), actor=services.Actor.person(citizen.id)
    )
    assert introspect(provider_client, token) == {"active": False}


def test_introspection_is_inactive_while_the_consent_is_paused(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    citizen: Person,
) -> None:
    token = _token(citizen_browser, provider_client, consent_request)
    services.consent_pause(
        consent=Consent.objects.get(id=consent_request.id), actor=services.Actor.person(citizen.id)
    )
    assert introspect(provider_client, token) == {"active": False}


def test_another_client_learns_nothing_about_a_token(
    citizen_browser: Client,
    provider_client: ProviderClient,
    other_provider_client: ProviderClient,
    consent_request: Consent,
) -> None:
    token = _token(citizen_browser, provider_client, consent_request)
    assert introspect(other_provider_client, token) == {"active": False}


def test_introspection_needs_client_authentication(db: object) -> None:
    answer = Client().post("/o/introspect/", {"token": "x"})
    assert answer.status_code == 401


def test_metadata_advertises_the_consent_bound_flow(db: object) -> None:
    data = Client().get("/.well-known/oauth-authorization-server").json()
    assert data["issuer"] == "http://127.0.0.1:8000"
    assert data["authorization_endpoint"].endswith("/o/authorize/")
    assert data["introspection_endpoint"].endswith("/o/introspect/")
    assert data["revocation_endpoint"].endswith("/o/revoke_token/")
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["authorization_details_types_supported"] == ["tahto_consent"]
    assert data["authorization_response_iss_parameter_supported"] is True
    assert "implicit" not in data["grant_types_supported"]


def test_introspection_is_inactive_once_the_consent_has_run_out(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    frozen_now: datetime,
) -> None:
    """Its end time has passed, though nothing has yet marked it expired: the decision
    point reads the end time, so the token ends with it, before its own expiry."""
    token = _token(citizen_browser, provider_client, consent_request)
    Consent.objects.filter(lineage=consent_request.lineage).update(
        valid_until=frozen_now + timedelta(seconds=60)
    )
    assert introspect(provider_client, token)["active"] is True
    with time_machine.travel(frozen_now + timedelta(seconds=120), tick=False):
        assert introspect(provider_client, token) == {"active": False}
