"""POST/GET/DELETE /api/v1/consent-requests: a provider's consent requests (NextGenPSD2 style)."""

from datetime import date, datetime, timedelta
from typing import Any

from django.test import Client

from consents import services
from consents.models import Consent
from consents.states import Status
from mydata_operator.identity.models import Person
from mydata_operator.identity.selectors import subject_id_for_code, subject_pseudonym
from schemas.hetu import make_hetu
from tests.conftest import COUNTY_OID, PROVIDER_OID, provider_sharing_scope
from tests.provider_api.conftest import ProviderClient, request_consent

URL = "/api/v1/consent-requests"


def body(person: Person | None, now: datetime, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "provider-sharing",
        "scope": provider_sharing_scope(),
        "period": {"end": (now + timedelta(days=90)).isoformat()},
        "requestValidForDays": 14,
    }
    if person is not None:
        data["subject"] = {"personalIdentityCode": person.personal_identity_code}
    data.update(overrides)
    return data


def post(pc: ProviderClient, data: Any) -> Any:
    return Client().post(
        URL, data, content_type="application/json", HTTP_AUTHORIZATION=pc.auth_header
    )


def test_provider_creates_a_consent_request_for_a_citizen(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    answer = post(provider_client, body(citizen, frozen_now))
    assert answer.status_code == 201, answer.content
    data = answer.json()
    assert data["consentStatus"] == "received"
    consent = Consent.objects.get(id=data["consentId"])
    assert consent.subject_id == citizen.id and consent.requested_by == PROVIDER_OID
    assert data["_links"]["self"]["href"] == f"{URL}/{consent.id}"
    assert data["_links"]["status"]["href"] == f"{URL}/{consent.id}/status"
    assert "authorization_details" in data["_links"]["scaOAuth"]["href"]
    assert answer["Location"] == f"{URL}/{consent.id}"
    assert citizen.personal_identity_code not in answer.content.decode()


def test_unknown_identity_code_is_accepted_like_a_known_one(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    stranger = make_hetu(date(1990, 5, 5), 950)
    known = post(provider_client, body(citizen, frozen_now))
    unknown = post(
        provider_client,
        body(None, frozen_now, subject={"personalIdentityCode": stranger}),
    )
    assert unknown.status_code == known.status_code == 201
    assert set(unknown.json()) == set(known.json())
    assert unknown.json()["consentStatus"] == "received"
    assert unknown.json()["_links"].keys() == known.json()["_links"].keys()
    # Asked about later, the unknown code's request answers like the known one's.
    for answer in (known, unknown):
        again = Client().get(answer["Location"], HTTP_AUTHORIZATION=provider_client.auth_header)
        assert again.status_code == 200 and again.json()["consentStatus"] == "received"
    # No person record: the request waits under the id the person will have on joining.
    assert not Person.objects.filter(personal_identity_code=stranger).exists()
    consent = Consent.objects.get(id=unknown.json()["consentId"])
    assert consent.subject_id == subject_pseudonym(stranger) != citizen.id


def test_requests_for_unknown_identity_codes_create_no_person_records(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    people = Person.objects.count()
    for individual in range(960, 970):
        code = make_hetu(date(1991, 6, 6), individual)
        subject = {"personalIdentityCode": code}
        assert post(provider_client, body(None, frozen_now, subject=subject)).status_code == 201
    assert Person.objects.count() == people
    assert Consent.objects.filter(status=Status.REQUESTED).count() == 10


def test_a_person_who_joins_later_finds_the_request_made_before(
    provider_client: ProviderClient, frozen_now: datetime
) -> None:
    code = make_hetu(date(1992, 7, 7), 970)
    made = post(provider_client, body(None, frozen_now, subject={"personalIdentityCode": code}))
    joined = Person.objects.create(
        id=subject_pseudonym(code),
        personal_identity_code=code,
        given_name="Uusi",
        family_name="Asukas",
        birth_date=date(1992, 7, 7),
    )
    assert subject_id_for_code(code) == joined.id
    assert Consent.objects.get(id=made.json()["consentId"]).subject_id == joined.id


def test_request_naming_another_recipient_is_refused(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    scope = provider_sharing_scope(recipient={"organisation": COUNTY_OID})
    answer = post(provider_client, body(citizen, frozen_now, scope=scope))
    assert answer.status_code == 422
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["errors"][0]["pointer"] == "/scope/recipient"


def test_invalid_body_names_the_field(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    answer = post(provider_client, body(citizen, frozen_now, kind="everything"))
    assert answer.status_code == 422
    assert any(e["pointer"] == "/kind" for e in answer.json()["errors"])


def test_invalid_scope_names_the_field(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    scope = provider_sharing_scope(dataCategories=["samples"])
    answer = post(provider_client, body(citizen, frozen_now, scope=scope))
    assert answer.status_code == 422
    assert any(e["pointer"].startswith("/scope/dataCategories") for e in answer.json()["errors"])


def test_request_without_credentials_is_401_problem(citizen: Person, frozen_now: datetime) -> None:
    answer = Client().post(URL, body(citizen, frozen_now), content_type="application/json")
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_request_with_a_wrong_secret_is_401_problem(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    wrong = ProviderClient(provider_client.provider, provider_client.client_id, "guess")
    answer = post(wrong, body(citizen, frozen_now))
    assert answer.status_code == 401
    assert "signature" in answer.json()["detail"]


def test_a_client_secret_is_not_accepted_for_provider_calls(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    answer = Client().post(
        URL,
        body(citizen, frozen_now),
        content_type="application/json",
        HTTP_AUTHORIZATION=provider_client.basic,
    )
    assert answer.status_code == 401
    assert "secrets are not accepted" in answer.json()["detail"]


def test_provider_reads_its_request_and_status(
    provider_client: ProviderClient, consent_request: Consent
) -> None:
    answer = Client().get(
        f"{URL}/{consent_request.id}", HTTP_AUTHORIZATION=provider_client.auth_header
    )
    assert answer.status_code == 200
    assert answer.json()["consentId"] == str(consent_request.id)
    status = Client().get(
        f"{URL}/{consent_request.id}/status", HTTP_AUTHORIZATION=provider_client.auth_header
    )
    assert status.json() == {"consentStatus": "received"}


def test_another_providers_request_is_404(
    other_provider_client: ProviderClient, consent_request: Consent
) -> None:
    for path in (f"{URL}/{consent_request.id}", f"{URL}/{consent_request.id}/status"):
        answer = Client().get(path, HTTP_AUTHORIZATION=other_provider_client.auth_header)
        assert answer.status_code == 404
        assert answer["Content-Type"] == "application/problem+json"
    gone = Client().delete(
        f"{URL}/{consent_request.id}", HTTP_AUTHORIZATION=other_provider_client.auth_header
    )
    assert gone.status_code == 404
    assert Consent.objects.get(id=consent_request.id).status == Status.REQUESTED


def test_provider_terminates_its_consent(
    provider_client: ProviderClient, consent_request: Consent
) -> None:
    answer = Client().delete(
        f"{URL}/{consent_request.id}", HTTP_AUTHORIZATION=provider_client.auth_header
    )
    assert answer.status_code == 204
    status = Client().get(
        f"{URL}/{consent_request.id}/status", HTTP_AUTHORIZATION=provider_client.auth_header
    )
    assert status.json() == {"consentStatus": "terminatedByProvider"}


def test_terminating_twice_is_a_conflict(
    provider_client: ProviderClient, consent_request: Consent
) -> None:
    Client().delete(f"{URL}/{consent_request.id}", HTTP_AUTHORIZATION=provider_client.auth_header)
    again = Client().delete(
        f"{URL}/{consent_request.id}", HTTP_AUTHORIZATION=provider_client.auth_header
    )
    assert again.status_code == 409


def test_statuses_follow_the_citizens_acts(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    me = services.Actor.person(citizen.id)

    def status_of(consent: Consent) -> str:
        path = f"{URL}/{consent.lineage}/status"
        return str(
            Client()
            .get(path, HTTP_AUTHORIZATION=provider_client.auth_header)
            .json()["consentStatus"]
        )

    approved = services.consent_approve(
        consent=request_consent(citizen, frozen_now), actor=me, notice_text="ok", language="en"
    )
    assert status_of(approved) == "valid"
    services.consent_pause(consent=approved, actor=me)
    assert status_of(approved) == "paused"
    services.consent_withdraw(consent=Consent.objects.get(id=approved.id), actor=me)
    assert status_of(approved) == "withdrawn"
    rejected = services.consent_reject(consent=request_consent(citizen, frozen_now), actor=me)
    assert status_of(rejected) == "rejected"


def test_a_changed_consent_is_reported_by_its_newest_version(
    provider_client: ProviderClient, citizen: Person, frozen_now: datetime
) -> None:
    me = services.Actor.person(citizen.id)
    approved = services.consent_approve(
        consent=request_consent(citizen, frozen_now), actor=me, notice_text="ok", language="en"
    )
    services.consent_change(
        consent=approved,
        actor=me,
        scope=provider_sharing_scope(dataCategories=["conditions"]),
        notice_text="narrower",
        language="en",
    )
    data = (
        Client()
        .get(f"{URL}/{approved.lineage}", HTTP_AUTHORIZATION=provider_client.auth_header)
        .json()
    )
    assert data["version"] == 2 and data["scope"]["dataCategories"] == ["conditions"]
    assert data["consentStatus"] == "valid"
