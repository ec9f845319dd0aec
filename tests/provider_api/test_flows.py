"""Wellbeing submissions, unsolicited offers and research requests through the provider API."""

from datetime import date, datetime
from typing import Any

from django.test import Client

from consents.events import EventType
from consents.models import LogEntry
from mydata_operator.identity.models import Person, Provider
from tests.conftest import APP_ID, BIOBANK_OID, COUNTY_OID, grant, person
from tests.provider_api.conftest import ProviderClient, make_client

LOINC = "http://loinc.org"


def steps() -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "55423-8", "display": "Steps"}]},
        "effectiveDateTime": "2026-03-01T20:00:00Z",
        "valueQuantity": {"value": 8000, "unit": "steps"},
    }


def post(pc: ProviderClient, path: str, body: Any) -> Any:
    return Client().post(
        path, body, content_type="application/json", HTTP_AUTHORIZATION=pc.auth_header
    )


def app_client(db: Any) -> ProviderClient:
    app = Provider.objects.create(
        organisation_id="1.2.246.10.5555555.10.0", name="App", kind=Provider.Kind.WELLBEING_APP
    )
    return make_client(app, APP_ID, "app-secret")


def test_wellbeing_app_submits_observations_stored_as_the_consent_permits(
    citizen: Person, frozen_now: datetime
) -> None:
    grant(citizen, "wellbeing-sharing")
    answer = post(
        app_client(None),
        "/api/v1/wellbeing/observations",
        {
            "subject": {"personalIdentityCode": citizen.personal_identity_code},
            "resources": [steps()],
        },
    )
    assert answer.status_code == 202, answer.content
    data = answer.json()
    assert data["received"] == 1
    assert data["kantaPhr"] == {"outcome": "permit", "reason": "permitted", "queued": 1}


def test_wellbeing_submission_without_consent_is_accepted_but_stored_nowhere(
    citizen: Person, frozen_now: datetime
) -> None:
    answer = post(
        app_client(None),
        "/api/v1/wellbeing/observations",
        {
            "subject": {"personalIdentityCode": citizen.personal_identity_code},
            "resources": [steps()],
        },
    )
    assert answer.status_code == 202
    assert answer.json()["kantaPhr"]["outcome"] == "deny"
    assert answer.json()["providersQueued"] == 0


def test_only_a_wellbeing_app_may_submit(provider_client: ProviderClient, citizen: Person) -> None:
    answer = post(
        provider_client,
        "/api/v1/wellbeing/observations",
        {
            "subject": {"personalIdentityCode": citizen.personal_identity_code},
            "resources": [steps()],
        },
    )
    assert answer.status_code == 403


def test_invalid_observation_is_422_naming_the_resource(citizen: Person) -> None:
    bad = {**steps(), "resourceType": "Condition"}
    answer = post(
        app_client(None),
        "/api/v1/wellbeing/observations",
        {"subject": {"personalIdentityCode": citizen.personal_identity_code}, "resources": [bad]},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["pointer"].startswith("/resources/0")


def test_offer_answers_only_aggregate_counts(
    other_provider_client: ProviderClient,
    citizen: Person,
    other_citizen: Person,
    frozen_now: datetime,
) -> None:
    grant(citizen, "needs-assessment")
    offer = {
        "sender": COUNTY_OID,
        "lifeArea": "health",
        "channel": "dashboard",
        "title": "Virtuaalinen terveystarkastus",
        "body": "Tervetuloa.",
        "targetGroup": {"ageFrom": 40, "ageTo": 65},
    }
    answer = post(other_provider_client, "/api/v1/needs-assessment/offers", offer)
    assert answer.status_code == 202, answer.content
    assert answer.json() == {"targeted": "<5", "delivered": "<5"}
    assert str(citizen.id) not in answer.content.decode()


def test_offer_in_another_senders_name_is_refused(
    provider_client: ProviderClient, citizen: Person
) -> None:
    offer = {
        "sender": COUNTY_OID,
        "lifeArea": "health",
        "channel": "dashboard",
        "title": "x",
        "body": "y",
        "targetGroup": {},
    }
    assert post(provider_client, "/api/v1/needs-assessment/offers", offer).status_code == 403


def test_research_request_releases_consenting_donors_as_pseudonyms(
    citizen: Person, other_citizen: Person, frozen_now: datetime
) -> None:
    bank = Provider.objects.create(
        organisation_id=BIOBANK_OID, name="Biobank", kind=Provider.Kind.BIOBANK
    )
    pc = make_client(bank, "demo-biobank", "bank-secret")
    grant(citizen, "biobank")
    grant(other_citizen, "biobank")
    request = {
        "purpose": {"code": "HMB"},
        "declarations": ["NPU"],
        "dataCategories": ["samples"],
    }
    answer = post(pc, "/api/v1/research-requests", request)
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["matched"] == 2
    assert all(d["categories"] == ["samples"] for d in data["donors"])
    assert str(citizen.id) not in answer.content.decode()
    assert (
        LogEntry.objects.filter(event_type=EventType.DECISION_PERMIT, kind="research").count() == 2
    )


def test_research_request_for_uncovered_use_releases_nobody(
    citizen: Person, frozen_now: datetime
) -> None:
    bank = Provider.objects.create(
        organisation_id=BIOBANK_OID, name="Biobank", kind=Provider.Kind.BIOBANK
    )
    pc = make_client(bank, "demo-biobank", "bank-secret")
    grant(citizen, "biobank")
    answer = post(
        pc,
        "/api/v1/research-requests",
        {"purpose": {"code": "GRU"}, "declarations": [], "dataCategories": ["samples"]},
    )
    assert answer.json() == {"matched": 0, "donors": []}


def test_only_a_biobank_sends_research_requests(provider_client: ProviderClient) -> None:
    answer = post(
        provider_client,
        "/api/v1/research-requests",
        {"purpose": {"code": "GRU"}, "declarations": [], "dataCategories": ["samples"]},
    )
    assert answer.status_code == 403


def test_offer_target_group_selects_by_age(db: Any, frozen_now: datetime) -> None:
    from mydata_operator.provider_api.flows import offer_candidates

    young = person("Nuori", "Testi", date(2010, 1, 1), 960)
    old = person("Vanha", "Testi", date(1950, 1, 1), 961)
    assert set(offer_candidates({"ageFrom": 18})) == {old.id}
    assert young.id in offer_candidates({"ageTo": 17})


def test_wellbeing_submission_with_a_code_outside_a_required_value_set_is_a_problem(
    citizen: Person, frozen_now: datetime
) -> None:
    grant(citizen, "wellbeing-sharing")
    before = LogEntry.objects.count()
    answer = post(
        app_client(None),
        "/api/v1/wellbeing/observations",
        {
            "subject": {"personalIdentityCode": citizen.personal_identity_code},
            "resources": [{**steps(), "status": "done"}],
        },
    )
    assert answer.status_code == 422
    assert answer["Content-Type"] == "application/problem+json"
    (error,) = answer.json()["errors"]
    assert error["pointer"] == "/resources/0/status"
    assert "Observation.status" in error["message"] and "final" in error["message"]
    assert LogEntry.objects.count() == before  # nothing decided, delivered or stored
