"""CDS Hooks patient-consent-consult: a provider's own system asks the one decision point."""

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import ECKey

from consents import services
from consents.events import EventType
from consents.models import LogEntry
from mydata_operator.identity.models import Person
from mydata_operator.provider_api.cds import service_url
from mydata_operator.provider_api.client_keys import client_keys_register
from schemas.hetu import make_hetu
from tests.conftest import COUNTY_OID, PROVIDER_OID, grant, provider_sharing_scope
from tests.provider_api.conftest import ProviderClient

URL = "/cds-services/patient-consent-consult"
HETU = "urn:oid:1.2.246.21"


@pytest.fixture
def key(provider_client: ProviderClient) -> ECKey:
    private = ECKey.generate_key("P-256", parameters={"kid": "cds-1"})
    app = provider_client.provider.application
    assert app is not None
    client_keys_register(application=app, jwks={"keys": [private.as_dict(private=False)]})
    return private


@pytest.fixture
def other_key(other_provider_client: ProviderClient) -> ECKey:
    private = ECKey.generate_key("P-256", parameters={"kid": "cds-2"})
    app = other_provider_client.provider.application
    assert app is not None
    client_keys_register(application=app, jwks={"keys": [private.as_dict(private=False)]})
    return private


def client_jwt(private: ECKey, client_id: str = "terveys-oy", **overrides: Any) -> str:
    now = int(timezone.now().timestamp())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": service_url(),
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
        **overrides,
    }
    return jwt.encode({"alg": "ES256", "kid": private.kid}, claims, private)


def consult_body(code: str, **context: Any) -> dict[str, Any]:
    ctx = {
        "patientId": [{"system": HETU, "value": code}],
        "category": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                "code": "patient-privacy",
            }
        ],
        "purposeOfUse": ["TREAT"],
        "actor": [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{PROVIDER_OID}"}],
        **context,
    }
    return {"hook": "patient-consent-consult", "hookInstance": str(uuid.uuid4()), "context": ctx}


def consult(body: Any, token: str | None, url: str = URL) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    raw = body if isinstance(body, str) else json.dumps(body)
    return Client().post(url, raw, content_type="application/json", headers=headers)


def card(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.content
    cards = answer.json()["cards"]
    assert len(cards) == 1
    return dict(cards[0])


def decisions() -> int:
    return LogEntry.objects.filter(
        event_type__in=[EventType.DECISION_PERMIT, EventType.DECISION_DENY]
    ).count()


def test_discovery_lists_the_consent_consult_service(db: Any) -> None:
    answer = Client().get("/cds-services")
    assert answer.status_code == 200
    (service,) = answer.json()["services"]
    assert service["id"] == service["hook"] == "patient-consent-consult"
    assert service["title"] and service["description"]
    assert "prefetch" not in service


def test_a_consent_to_this_provider_permits_with_what_may_be_shared(
    citizen: Person, key: ECKey, frozen_now: datetime
) -> None:
    consent = grant(citizen, "provider-sharing")
    answer = card(consult(consult_body(citizen.personal_identity_code), client_jwt(key)))
    assert answer["summary"] == answer["extension"]["decision"] == "CONSENT_PERMIT"
    assert answer["extension"]["basedOn"] == f"Consent/{consent.lineage}"
    obligations = {o["id"]["code"]: o for o in answer["extension"]["obligations"]}
    shared = {c["code"] for c in obligations["PERMIT"]["parameters"]["codes"]}
    # The consent names conditions and medications: those, and their FHIR types, only.
    assert {"conditions", "medications", "Condition", "MedicationStatement"} <= shared
    assert "Immunization" not in shared and "immunizations" not in shared
    withheld = {c["code"] for c in obligations["REDACT"]["parameters"]["codes"]}
    assert "immunizations" in withheld and "conditions" not in withheld
    assert "NORDSCLCD" in obligations
    labels = {
        (s["system"].rsplit("/", 1)[-1], s["code"])
        for s in answer["extension"]["content"]["securityLabel"]
    }
    assert ("v3-ActReason", "TREAT") in labels and ("v3-Confidentiality", "R") in labels


def test_asking_about_one_type_narrows_the_obligations(
    citizen: Person, key: ECKey, frozen_now: datetime
) -> None:
    grant(citizen, "provider-sharing")
    body = consult_body(
        citizen.personal_identity_code,
        **{"class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Condition"}]},
    )
    answer = card(consult(body, client_jwt(key)))
    assert answer["summary"] == "CONSENT_PERMIT"
    permit, redact, no_redisclosure = answer["extension"]["obligations"]
    assert {c["code"] for c in permit["parameters"]["codes"]} == {"Condition", "conditions"}
    # Conditions also travel as linked register data, which the consent does not name.
    assert redact["id"]["code"] == "REDACT"
    assert "register-data" in {c["code"] for c in redact["parameters"]["codes"]}
    assert no_redisclosure["id"]["code"] == "NORDSCLCD"


def test_a_type_the_consent_does_not_cover_is_a_deny(
    citizen: Person, key: ECKey, frozen_now: datetime
) -> None:
    grant(citizen, "provider-sharing")
    body = consult_body(
        citizen.personal_identity_code,
        **{"class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Immunization"}]},
    )
    answer = card(consult(body, client_jwt(key)))
    assert answer["summary"] == "CONSENT_DENY"
    assert answer["extension"]["reason"] == "categories-not-covered"
    assert answer["extension"]["obligations"] == []


def test_a_withdrawn_consent_is_a_deny(citizen: Person, key: ECKey, frozen_now: datetime) -> None:
    consent = grant(citizen, "provider-sharing")
    services.consent_withdraw(
        consent=consent, actor=services.Actor.person(citizen.id), reason="changed my mind"
    )
    answer = card(consult(consult_body(citizen.personal_identity_code), client_jwt(key)))
    assert answer["summary"] == "CONSENT_DENY"
    assert answer["extension"]["reason"] == "withdrawn"


def test_a_purpose_the_consent_does_not_name_is_a_deny(
    citizen: Person, key: ECKey, frozen_now: datetime
) -> None:
    grant(citizen, "provider-sharing")  # purpose: care
    body = consult_body(citizen.personal_identity_code, purposeOfUse=["HRESCH"])
    answer = card(consult(body, client_jwt(key)))
    assert answer["summary"] == "CONSENT_DENY"
    assert answer["extension"]["reason"] == "purpose-not-covered"


def test_a_refusal_in_force_is_a_deny(citizen: Person, key: ECKey, frozen_now: datetime) -> None:
    grant(citizen, "provider-sharing", provision="deny")
    answer = card(consult(consult_body(citizen.personal_identity_code), client_jwt(key)))
    assert answer["summary"] == "CONSENT_DENY"
    assert answer["extension"]["reason"] == "refused"


def test_no_consent_to_this_provider_is_no_consent(
    citizen: Person, key: ECKey, frozen_now: datetime
) -> None:
    grant(
        citizen,
        "provider-sharing",
        scope=provider_sharing_scope(recipient={"organisation": COUNTY_OID, "name": "County"}),
    )
    answer = card(consult(consult_body(citizen.personal_identity_code), client_jwt(key)))
    assert answer["summary"] == answer["extension"]["decision"] == "NO_CONSENT"
    assert "basedOn" not in answer["extension"]


def test_an_unknown_person_is_answered_as_a_known_one_without_consent_and_not_stored(
    citizen: Person, key: ECKey, frozen_now: datetime
) -> None:
    stranger = make_hetu(datetime(1990, 5, 5).date(), 911)
    people = Person.objects.count()
    known = card(consult(consult_body(citizen.personal_identity_code), client_jwt(key)))
    unknown = card(consult(consult_body(stranger), client_jwt(key)))
    assert Person.objects.count() == people
    for answer in (known, unknown):
        del answer["uuid"]
    assert known == unknown
    assert known["summary"] == "NO_CONSENT"
    # The decision is logged under the pseudonymous id the person will have on joining.
    assert decisions() == 2


def test_the_decision_is_logged_and_on_the_citizens_disclosure_page(
    citizen: Person, key: ECKey, frozen_now: datetime, citizen_browser: Client
) -> None:
    grant(citizen, "provider-sharing")
    card(consult(consult_body(citizen.personal_identity_code), client_jwt(key)))
    entry = LogEntry.objects.get(event_type=EventType.DECISION_PERMIT, subject_id=citizen.id)
    body = json.loads(entry.entry)
    assert body["requestedBy"] == "cds-hooks:patient-consent-consult"
    assert body["recipient"]["organisation"] == PROVIDER_OID
    assert entry.purpose == "care"
    page = citizen_browser.get("/disclosures/")
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [r.outcome for r in rows] == ["permit"]
    # Named as a question, not as data fetched: nothing moved.
    assert rows[0].flow == "Palveluntuottajan järjestelmä kysyi, saako se tietojasi"
    assert "Terveys Oy" in page.content.decode()


# --- Bad input: a CDS Hooks error with a JSON body, nothing decided or logged ------------------


def _refused(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == code
    assert decisions() == 0
    return dict(problem)


def test_an_unknown_hook_is_400(citizen: Person, key: ECKey, frozen_now: datetime) -> None:
    body = {**consult_body(citizen.personal_identity_code), "hook": "patient-view"}
    _refused(consult(body, client_jwt(key)), 400, "unknown-hook")


def test_an_unknown_service_is_404(key: ECKey, frozen_now: datetime) -> None:
    answer = consult({}, client_jwt(key), url="/cds-services/patient-view")
    _refused(answer, 404, "not-found")


def test_a_missing_patient_is_400(key: ECKey, frozen_now: datetime) -> None:
    body = consult_body("x")
    del body["context"]["patientId"]
    problem = _refused(consult(body, client_jwt(key)), 400, "invalid-input")
    assert problem["errors"][0]["pointer"] == "/context/patientId"


def test_a_patient_by_another_identifier_system_is_400(key: ECKey, frozen_now: datetime) -> None:
    body = consult_body("111111111")
    body["context"]["patientId"] = [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "1"}]
    _refused(consult(body, client_jwt(key)), 400, "unknown-patient-identifier")


def test_an_invalid_identity_code_is_400(key: ECKey, frozen_now: datetime) -> None:
    _refused(
        consult(consult_body("010101-000X"), client_jwt(key)), 400, "invalid-patient-identifier"
    )


def test_an_unknown_purpose_code_is_400(citizen: Person, key: ECKey, frozen_now: datetime) -> None:
    body = consult_body(citizen.personal_identity_code, purposeOfUse=["TREAT", "MARKETING"])
    problem = _refused(consult(body, client_jwt(key)), 400, "unknown-purpose")
    assert problem["errors"][0]["pointer"] == "/context/purposeOfUse/1"


def test_an_unknown_category_is_400(citizen: Person, key: ECKey, frozen_now: datetime) -> None:
    body = consult_body(
        citizen.personal_identity_code,
        category=[{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "adr"}],
    )
    _refused(consult(body, client_jwt(key)), 400, "unknown-category")


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '{"hook": 5}'])
def test_a_malformed_body_is_400(raw: str, key: ECKey, frozen_now: datetime) -> None:
    answer = consult(raw, client_jwt(key))
    assert answer.status_code == 400, answer.content
    assert answer.json()["status"] == 400
    assert decisions() == 0


# --- Authentication attacks ------------------------------------------------------------------


def test_no_jwt_is_401(citizen: Person, key: ECKey, frozen_now: datetime) -> None:
    answer = consult(consult_body(citizen.personal_identity_code), None)
    _refused(answer, 401, "not-authenticated")
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_a_jwt_for_another_audience_is_401(
    citizen: Person, key: ECKey, frozen_now: datetime
) -> None:
    token = client_jwt(key, aud=f"{settings.TAHTO_PUBLIC_URL}/o/token/")
    _refused(
        consult(consult_body(citizen.personal_identity_code), token), 401, "authentication-failed"
    )


def test_a_replayed_jwt_is_401(citizen: Person, key: ECKey, frozen_now: datetime) -> None:
    grant(citizen, "provider-sharing")
    token = client_jwt(key)
    card(consult(consult_body(citizen.personal_identity_code), token))
    before = decisions()
    answer = consult(consult_body(citizen.personal_identity_code), token)
    assert answer.status_code == 401
    assert "replay" in answer.json()["detail"]
    assert decisions() == before


def test_a_jwt_signed_with_another_key_is_401(
    citizen: Person, key: ECKey, frozen_now: datetime
) -> None:
    stranger = ECKey.generate_key("P-256", parameters={"kid": "cds-1"})
    _refused(
        consult(consult_body(citizen.personal_identity_code), client_jwt(stranger)),
        401,
        "authentication-failed",
    )


def test_asking_as_another_providers_organisation_is_403(
    citizen: Person, key: ECKey, other_key: ECKey, frozen_now: datetime
) -> None:
    # The county holds a consent; Terveys Oy may not ask as the county to learn of it.
    grant(
        citizen,
        "provider-sharing",
        scope=provider_sharing_scope(recipient={"organisation": COUNTY_OID, "name": "County"}),
    )
    body = consult_body(
        citizen.personal_identity_code,
        actor=[{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{COUNTY_OID}"}],
    )
    _refused(consult(body, client_jwt(key)), 403, "permission-denied")
    # The county itself may ask, and its own consent permits.
    answer = card(consult(body, client_jwt(other_key, client_id="demo-county")))
    assert answer["summary"] == "CONSENT_PERMIT"


def test_a_consult_expires_nothing_and_outlives_no_token(
    citizen: Person, key: ECKey, frozen_now: datetime
) -> None:
    """A consult moves no data: the consent stays as it was, only the decision is written."""
    consent = grant(citizen, "provider-sharing")
    entries = LogEntry.objects.count()
    card(consult(consult_body(citizen.personal_identity_code), client_jwt(key)))
    assert LogEntry.objects.count() == entries + 1
    consent.refresh_from_db()
    assert consent.status == "active"
    assert consent.valid_until is None or consent.valid_until > frozen_now + timedelta(days=1)


def test_a_key_registered_with_the_command_authenticates_the_client(
    citizen: Person, provider_client: ProviderClient, frozen_now: datetime, tmp_path: Any
) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    private = ECKey.generate_key("P-256", parameters={"kid": "from-file"})
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [private.as_dict(private=False)]}))
    out = StringIO()
    call_command("register_client_key", "--client-id=terveys-oy", f"--jwks={jwks}", stdout=out)
    assert out.getvalue().strip() == "kid=from-file"
    answer = card(consult(consult_body(citizen.personal_identity_code), client_jwt(private)))
    assert answer["summary"] == "NO_CONSENT"
    jwks.write_text(json.dumps({"keys": [private.as_dict(private=True)]}))
    with pytest.raises(CommandError, match="private key"):
        call_command("register_client_key", "--client-id=terveys-oy", f"--jwks={jwks}")


def test_an_oversized_body_is_413_before_it_is_read(key: ECKey, frozen_now: datetime) -> None:
    huge = json.dumps({"hook": "patient-consent-consult", "pad": "x" * 3_000_000})
    answer = consult(huge, client_jwt(key))
    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/problem+json"
    assert decisions() == 0


def test_an_unknown_path_below_the_services_is_a_json_404(db: Any) -> None:
    answer = Client().get("/cds-services/patient-consent-consult/feedback/x")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"
