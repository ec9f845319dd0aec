"""GET /api/v1/data/{type}: a consent-bound token reaches only what its consent permits."""

import json
from datetime import datetime, timedelta
from typing import Any

import time_machine
from django.test import Client

from consents import services
from consents.events import EventType
from consents.log import log_integrate
from consents.models import Consent, LogEntry
from mydata_operator.identity.models import Person
from tests.fixtures.kanta import KantaStandIn
from tests.provider_api.conftest import (
    ProviderClient,
    authorize,
    bound_headers,
    details,
    exchange,
    request_consent,
    token_request,
)


def token_for(browser: Client, pc: ProviderClient, consent: Consent, **overrides: Any) -> str:
    answer = exchange(Client(), pc, authorize(browser, pc.client_id, consent.id, **overrides))
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def fetch(token: str, resource_type: str, **headers: Any) -> Any:
    path = f"/api/v1/data/{resource_type}"
    return Client().get(path, **{**bound_headers(token, "GET", path), **headers})


def test_token_fetches_only_what_the_consent_permits(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    kanta: KantaStandIn,
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    answer = fetch(token, "Condition")
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "application/fhir+json"
    bundle = answer.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert bundle["total"] >= 1
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Condition"}


def test_a_type_outside_the_consent_is_403_naming_the_reason(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    kanta: KantaStandIn,
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    answer = fetch(token, "Immunization")
    assert answer.status_code == 403
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["reason"] == "categories-not-covered"
    assert "resourceType" not in answer.content.decode()


def test_a_token_granted_one_data_type_is_refused_another_the_consent_covers(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    kanta: KantaStandIn,
) -> None:
    # The consent covers conditions and medications; the token was granted conditions only.
    only_conditions = details(consent_request.id, actions=["read"], datatypes=["conditions"])
    token = token_for(
        citizen_browser, provider_client, consent_request, authorization_details=only_conditions
    )
    assert fetch(token, "Condition").status_code == 200
    refused = fetch(token, "MedicationStatement")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == problem["reason"] == "not-granted"
    assert "medications" in problem["detail"]
    assert "MedicationStatement" in problem["detail"]
    assert "entry" not in problem
    deny = LogEntry.objects.filter(
        event_type=EventType.DECISION_DENY, consent_lineage=consent_request.lineage
    ).get()
    body = json.loads(deny.entry)
    assert body["decision"]["reason"] == "not-granted"
    assert body["categories"] == ["medications"]
    assert body["granted"] == {"categories": ["conditions"], "actions": ["read"], "action": "read"}
    delivered = LogEntry.objects.filter(
        event_type=EventType.DATA_DELIVERED, consent_lineage=consent_request.lineage
    )
    assert delivered.count() == 1  # the conditions only
    # A refusal of what was not granted leaves the token alive for what was.
    assert fetch(token, "Condition").status_code == 200


def test_the_decision_logs_what_the_token_was_granted(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    kanta: KantaStandIn,
) -> None:
    token = token_for(
        citizen_browser,
        provider_client,
        consent_request,
        authorization_details=details(consent_request.id, datatypes=["conditions"]),
    )
    assert fetch(token, "Condition").status_code == 200
    permit = LogEntry.objects.get(
        event_type=EventType.DECISION_PERMIT, consent_lineage=consent_request.lineage
    )
    body = json.loads(permit.entry)
    assert permit.purpose == body["purpose"] == "care"  # the consent's, logged, not compared
    assert body["granted"]["categories"] == ["conditions"]
    assert body["permitted"] == ["conditions"]


def test_withdrawal_makes_the_very_next_call_403_and_then_the_token_dead(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    citizen: Person,
    kanta: KantaStandIn,
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    assert fetch(token, "Condition").status_code == 200
    services.consent_withdraw(
        consent=Consent.objects.get(id=consent_request.id), actor=services.Actor.person(citizen.id)
    )
    refused = fetch(token, "Condition")
    assert refused.status_code == 403
    assert refused.json()["code"] == "withdrawn"
    assert "withdrawn" in refused.json()["detail"]
    assert LogEntry.objects.filter(
        event_type=EventType.DECISION_DENY, consent_lineage=consent_request.lineage
    ).exists()
    assert fetch(token, "Condition").status_code == 401


def test_consent_id_header_must_name_the_tokens_consent(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    other_citizen: Person,
    frozen_now: datetime,
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    theirs = request_consent(other_citizen, frozen_now)
    answer = fetch(token, "Condition", HTTP_CONSENT_ID=str(theirs.id))
    assert answer.status_code == 403
    assert answer.json()["code"] == "consent-id-mismatch"
    assert str(other_citizen.id) not in answer.content.decode()


def test_matching_consent_id_header_is_accepted(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    kanta: KantaStandIn,
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    answer = fetch(token, "Condition", HTTP_CONSENT_ID=str(consent_request.id))
    assert answer.status_code == 200


def test_expired_token_is_401(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    frozen_now: datetime,
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    with time_machine.travel(frozen_now + timedelta(seconds=301), tick=False):
        answer = fetch(token, "Condition")
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["WWW-Authenticate"].startswith("DPoP")


def test_revoked_token_is_401(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    revoked = Client().post(
        "/o/revoke_token/",
        {"token": token, "token_type_hint": "access_token", **provider_client.assertion_form()},
    )
    assert revoked.status_code == 200
    assert fetch(token, "Condition").status_code == 401


def test_missing_or_made_up_token_is_401(provider_client: ProviderClient, db: Any) -> None:
    assert Client().get("/api/v1/data/Condition").status_code == 401
    assert fetch("made-up", "Condition").status_code == 401


def test_token_in_the_query_string_is_not_accepted(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    assert Client().get(f"/api/v1/data/Condition?access_token={token}").status_code == 401


def test_unknown_resource_type_is_404(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    assert fetch(token, "Encounter").status_code == 404


def test_refresh_token_stops_working_when_the_consent_ends(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    citizen: Person,
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    tokens = exchange(Client(), provider_client, auth).json()
    refreshed = token_request(
        Client(), provider_client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["authorization_details"][0]["consentId"] == str(consent_request.id)
    services.consent_withdraw(
        consent=Consent.objects.get(id=consent_request.id), actor=services.Actor.person(citizen.id)
    )
    again = token_request(
        Client(),
        provider_client,
        grant_type="refresh_token",
        refresh_token=refreshed.json()["refresh_token"],
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_kanta_failure_is_502_and_delivers_nothing(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    kanta: KantaStandIn,
) -> None:
    token = token_for(citizen_browser, provider_client, consent_request)
    kanta.fault("500", count=5)
    answer = fetch(token, "Condition")
    assert answer.status_code == 502
    assert answer.json()["code"] == "upstream-unavailable"
    assert "entry" not in answer.json()


def test_periodic_task_revokes_the_tokens_of_ended_consents(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    citizen: Person,
) -> None:
    from oauth2_provider.models import AccessToken, RefreshToken

    from mydata_operator.provider_api.tasks import tokens_revoke_ended_task

    token_for(citizen_browser, provider_client, consent_request)
    assert tokens_revoke_ended_task() == 0
    services.consent_withdraw(
        consent=Consent.objects.get(id=consent_request.id), actor=services.Actor.person(citizen.id)
    )
    log_integrate()  # as the integrator does after commit: handlers follow integrated entries
    assert tokens_revoke_ended_task() == 2
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_the_log_handler_revokes_on_a_pause_once_and_is_safe_to_run_again(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    citizen: Person,
) -> None:
    from oauth2_provider.models import AccessToken

    from mydata_operator.provider_api.tokens import tokens_revoke_follow

    token_for(citizen_browser, provider_client, consent_request)
    assert tokens_revoke_follow() == 0
    services.consent_pause(
        consent=Consent.objects.get(id=consent_request.id), actor=services.Actor.person(citizen.id)
    )
    log_integrate()  # as the integrator does after commit: handlers follow integrated entries
    assert tokens_revoke_follow() == 2
    assert not AccessToken.objects.exists()
    assert tokens_revoke_follow() == 0  # the cursor moved on; nothing is revoked twice


def test_the_log_handler_revokes_when_the_consent_expires(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    frozen_now: datetime,
) -> None:
    from oauth2_provider.models import RefreshToken

    from mydata_operator.provider_api.tokens import tokens_revoke_follow

    token_for(citizen_browser, provider_client, consent_request)
    later = frozen_now + timedelta(days=91)
    with time_machine.travel(later, tick=False):
        assert services.consents_expire(now=later) == 1
        log_integrate()  # as the integrator does after commit: handlers follow integrated entries
    assert tokens_revoke_follow() == 2
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_a_termination_by_the_provider_ends_its_tokens_through_the_log(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    kanta: KantaStandIn,
) -> None:
    from mydata_operator.provider_api.tokens import tokens_revoke_follow

    token = token_for(citizen_browser, provider_client, consent_request)
    gone = Client().delete(
        f"/api/v1/consent-requests/{consent_request.id}",
        HTTP_AUTHORIZATION=provider_client.auth_header,
    )
    assert gone.status_code == 204
    refused = fetch(token, "Condition")  # refused at once, before any handler ran
    assert refused.status_code == 403 and refused.json()["code"] == "terminated"
    assert fetch(token, "Condition").status_code == 401
    assert tokens_revoke_follow() == 0  # already revoked when the call met the ended consent
