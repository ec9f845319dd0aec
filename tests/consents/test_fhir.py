"""Every consent kind, in every status, permit or deny, exports as a valid FHIR R4 Consent."""

import datetime as dt
import uuid

import pytest
from fhir.resources.R4B.consent import Consent as FhirConsent

import schemas
from consents import fhir
from consents.fhir import (
    PURPOSE_OF_USE,
    RESOURCE_TYPES_BY_CATEGORY,
    FhirExportError,
    consent_to_fhir,
    consent_to_fhir_resource,
)
from consents.models import Consent
from consents.states import Status

T0 = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
PATIENT = {"identifier": {"system": "urn:oid:1.2.246.21", "value": "131052-308T"}}

SCOPES = {
    "biobank": {
        "biobank": {"organisation": "1.2.246.10.1234567.10.1", "name": "Auria Biobank"},
        "samples": {"collect": True, "types": ["blood"], "existingSamples": False},
        "registerLinking": {"allowed": True, "sources": ["kanta"]},
        "dataCategories": ["samples", "register-data", "conditions"],
        "permission": {"code": "DS", "disease": "C50"},
        "modifiers": ["NPU", "IRB", "IS", "PS", "TS", "MOR"],
        "restrictions": {
            "institutions": ["1.2.246.10.7654321.10.0"],
            "projects": ["AURIA-2025-17"],
            "until": "2030-01-01T00:00:00+02:00",
            "moratoriumUntil": "2027-06-30T00:00:00Z",
        },
        "recontact": False,
    },
    "needs-assessment": {
        "senders": [
            {"organisation": "1.2.246.10.2345678.10.0", "name": "Varha"},
            {"providerKind": "wellbeing-county"},
        ],
        "channels": ["dashboard", "sms"],
        "lifeAreas": ["health", "mobility"],
    },
    "provider-sharing": {
        "recipient": {"organisation": "1.2.246.10.3456789.10.0", "name": "Terveystalo"},
        "dataCategories": ["conditions", "medications"],
        "purpose": "care",
        "frequencyPerDay": 10,
        "dataPeriod": {"start": "2020-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
    },
    "wellbeing-sharing": {
        "dataCategories": ["blood-pressure", "steps"],
        "sources": [{"application": "oura-demo", "name": "Demo ring app", "device": "ring"}],
        "targets": [
            {"type": "kanta-phr"},
            {"type": "provider", "recipient": {"organisation": "1.2.246.10.3456789.10.0"}},
        ],
    },
}

FHIR_STATUS = {
    "requested": "proposed",
    "active": "active",
    "paused": "inactive",
    "withdrawn": "inactive",
    "revoked": "inactive",
    "terminated": "inactive",
    "expired": "inactive",
    "superseded": "inactive",
    "rejected": "rejected",
}


def make_consent(kind: str = "provider-sharing", **fields) -> Consent:
    values = {
        "id": uuid.uuid4(),
        "lineage": uuid.uuid4(),
        "version": 2,
        "kind": kind,
        "schema": f"consent-kinds/{kind}.v1",
        "subject_id": uuid.uuid4(),
        "provision": "permit",
        "scope": SCOPES[kind],
        "status": "active",
        "valid_from": T0,
        "valid_until": T0 + dt.timedelta(days=365),
        "created_at": T0 - dt.timedelta(minutes=5),
        "updated_at": T0,
    }
    values.update(fields)
    return Consent(**values)


def codes(concepts, system) -> list[str]:
    """The codes of `system` in a CodeableConcept list (or a Coding list)."""
    found = []
    for concept in concepts:
        for coding in concept.get("coding", [concept]):
            if coding.get("system") == system:
                found.append(coding["code"])
    return found


def actors(resource, role) -> list[dict]:
    return [
        a["reference"]
        for a in resource["provision"].get("actor", [])
        if codes([a["role"]], fhir.PARTICIPATION_TYPE_SYSTEM) == [role]
    ]


@pytest.mark.parametrize("kind", sorted(SCOPES))
@pytest.mark.parametrize("provision", ["permit", "deny"])
@pytest.mark.parametrize("status", [s.value for s in Status])
def test_every_kind_status_and_provision_validates(kind, provision, status):
    consent = make_consent(kind, provision=provision, status=status)

    resource = consent_to_fhir(consent, patient=PATIENT)

    FhirConsent.model_validate(resource)
    assert resource["resourceType"] == "Consent"
    assert resource["id"] == str(consent.id)
    assert resource["status"] == FHIR_STATUS[status]
    assert resource["provision"]["type"] == provision
    assert resource["patient"] == PATIENT
    expected_scope = "research" if kind == "biobank" else "patient-privacy"
    assert codes([resource["scope"]], fhir.CONSENT_SCOPE_SYSTEM) == [expected_scope]
    assert codes(resource["category"], "http://loinc.org") == ["59284-0"]
    assert codes(resource["category"], fhir.CONSENT_KIND_SYSTEM) == [kind]
    assert resource["policy"] == [{"uri": f"https://schemas.tahto.fi/consent-kinds/{kind}.v1.json"}]


def test_the_status_table_covers_every_state():
    assert set(fhir.STATUS_TO_FHIR) == {s.value for s in Status}


def test_the_fixture_scopes_follow_their_kind_schemas():
    for kind, scope in SCOPES.items():
        schemas.validate(schemas.kind_schema(kind), scope)


def test_common_fields_carry_identity_time_operator_and_period(settings):
    consent = make_consent()

    resource = consent_to_fhir(consent, patient=PATIENT)

    assert resource["identifier"] == [
        {
            "use": "usual",
            "system": f"{settings.TAHTO_PUBLIC_URL}/id/consent-lineage",
            "value": str(consent.lineage),
        },
        {
            "use": "official",
            "system": f"{settings.TAHTO_PUBLIC_URL}/id/consent-version",
            "value": f"{consent.lineage}:2",
        },
    ]
    assert resource["dateTime"] == "2025-03-01T09:25:00Z"
    assert resource["organization"][0]["identifier"] == {
        "system": "urn:ietf:rfc:3986",
        "value": f"urn:oid:{settings.TAHTO_OPERATOR_ID}",
    }
    assert resource["provision"]["period"] == {
        "start": "2025-03-01T09:30:00Z",
        "end": "2026-03-01T09:30:00Z",
    }
    assert "performer" not in resource


def test_open_ended_consent_has_no_period_end():
    resource = consent_to_fhir(make_consent(valid_until=None), patient=PATIENT)

    assert resource["provision"]["period"] == {"start": "2025-03-01T09:30:00Z"}


def test_performer_is_the_callers_reference():
    performer = {"reference": "RelatedPerson/guardian-1", "display": "Guardian"}

    resource = consent_to_fhir(make_consent(), patient=PATIENT, performer=performer)

    assert resource["performer"] == [performer]


def test_biobank_carries_duo_codes_disease_and_restrictions():
    resource = consent_to_fhir(make_consent("biobank"), patient=PATIENT)
    provision = resource["provision"]

    assert codes(provision["code"], fhir.DUO_SYSTEM) == [
        "DUO:0000007",  # DS
        "DUO:0000045",  # NPU
        "DUO:0000021",  # IRB
        "DUO:0000028",  # IS
        "DUO:0000027",  # PS
        "DUO:0000025",  # TS
        "DUO:0000024",  # MOR
    ]
    assert provision["code"][0]["coding"][0]["display"] == "disease specific research"
    [nested] = provision["provision"]
    assert codes(nested["code"], fhir.ICD10_SYSTEM) == ["C50"]
    assert codes(nested["code"], fhir.RESEARCH_PROJECT_SYSTEM) == ["AURIA-2025-17"]
    assert [a["reference"]["identifier"]["value"] for a in nested["actor"]] == [
        "urn:oid:1.2.246.10.7654321.10.0"
    ]
    assert nested["period"] == {"end": "2029-12-31T22:00:00Z"}
    assert nested["extension"] == [
        {"url": fhir.EXT_MORATORIUM_UNTIL, "valueDateTime": "2027-06-30T00:00:00Z"}
    ]
    assert [r["identifier"]["value"] for r in actors(resource, "IRCP")] == [
        "urn:oid:1.2.246.10.1234567.10.1"
    ]
    assert codes(provision["action"], fhir.CONSENT_ACTION_SYSTEM) == ["collect", "use", "disclose"]
    assert codes(provision["purpose"], fhir.ACT_REASON_SYSTEM) == ["HRESCH"]
    assert codes(provision["class"], fhir.RESOURCE_TYPE_SYSTEM) == [
        "Specimen",
        "Encounter",
        "Condition",
        "Procedure",
        "MedicationDispense",
    ]


def test_biobank_duo_codes_come_from_the_shared_vocabulary():
    duo = schemas.duo_vocabulary()
    scope = {**SCOPES["biobank"], "permission": {"code": "GRU"}, "modifiers": ["NCU", "GSO"]}
    scope.pop("restrictions")

    resource = consent_to_fhir(make_consent("biobank", scope=scope), patient=PATIENT)

    assert codes(resource["provision"]["code"], fhir.DUO_SYSTEM) == [
        duo["GRU"]["id"],
        duo["NCU"]["id"],
        duo["GSO"]["id"],
    ]
    assert "provision" not in resource["provision"]  # no disease, no restrictions


def test_provider_sharing_names_recipient_purpose_classes_and_data_period():
    resource = consent_to_fhir(make_consent("provider-sharing"), patient=PATIENT)
    provision = resource["provision"]

    [recipient] = actors(resource, "IRCP")
    assert recipient["identifier"] == {
        "system": "urn:ietf:rfc:3986",
        "value": "urn:oid:1.2.246.10.3456789.10.0",
    }
    assert recipient["display"] == "Terveystalo"
    assert codes(provision["action"], fhir.CONSENT_ACTION_SYSTEM) == ["access", "disclose"]
    assert codes(provision["purpose"], fhir.ACT_REASON_SYSTEM) == ["TREAT"]
    assert codes(provision["purpose"], fhir.PURPOSE_SYSTEM) == ["care"]
    assert codes(provision["class"], fhir.RESOURCE_TYPE_SYSTEM) == [
        "Condition",
        "MedicationStatement",
    ]
    assert codes(provision["class"], fhir.DATA_CATEGORY_SYSTEM) == ["conditions", "medications"]
    assert provision["dataPeriod"] == {
        "start": "2020-01-01T00:00:00Z",
        "end": "2025-01-01T00:00:00Z",
    }
    assert provision["extension"] == [{"url": fhir.EXT_FREQUENCY_PER_DAY, "valuePositiveInt": 10}]


def test_a_kind_of_provider_is_named_by_display_and_extension():
    scope = {**SCOPES["provider-sharing"], "recipient": {"providerKind": "care-provider"}}

    resource = consent_to_fhir(make_consent(scope=scope), patient=PATIENT)

    [recipient] = actors(resource, "IRCP")
    assert "identifier" not in recipient
    assert "care-provider" in recipient["display"]
    assert recipient["extension"] == [{"url": fhir.EXT_PROVIDER_KIND, "valueCode": "care-provider"}]


@pytest.mark.parametrize(
    ("purpose", "expected"),
    [
        ("care", ["TREAT"]),
        ("care-coordination", ["CAREMGT"]),
        ("service-need-assessment", ["POPHLTH", "CAREMGT"]),
        ("self-care-support", ["PATRQT"]),
        ("research", ["HRESCH"]),
    ],
)
def test_each_purpose_maps_to_act_reason_codes(purpose, expected):
    scope = {**SCOPES["provider-sharing"], "purpose": purpose}

    resource = consent_to_fhir(make_consent(scope=scope), patient=PATIENT)

    assert codes(resource["provision"]["purpose"], fhir.ACT_REASON_SYSTEM) == expected


def test_needs_assessment_names_senders_life_areas_and_channels():
    resource = consent_to_fhir(make_consent("needs-assessment"), patient=PATIENT)
    provision = resource["provision"]

    senders = actors(resource, "PRF")
    assert senders[0]["identifier"]["value"] == "urn:oid:1.2.246.10.2345678.10.0"
    assert senders[1]["extension"] == [
        {"url": fhir.EXT_PROVIDER_KIND, "valueCode": "wellbeing-county"}
    ]
    assert codes(provision["code"], fhir.LIFE_AREA_SYSTEM) == ["health", "mobility"]
    assert provision["extension"] == [
        {"url": fhir.EXT_CONTACT_CHANNEL, "valueCode": "dashboard"},
        {"url": fhir.EXT_CONTACT_CHANNEL, "valueCode": "sms"},
    ]
    assert codes(provision["purpose"], fhir.ACT_REASON_SYSTEM) == ["POPHLTH", "CAREMGT"]
    assert "class" not in provision


def test_wellbeing_sharing_names_sources_targets_and_measurements():
    resource = consent_to_fhir(make_consent("wellbeing-sharing"), patient=PATIENT)
    provision = resource["provision"]

    kanta, provider = actors(resource, "IRCP")
    assert kanta["extension"] == [{"url": fhir.EXT_TARGET_TYPE, "valueCode": "kanta-phr"}]
    assert provider["identifier"]["value"] == "urn:oid:1.2.246.10.3456789.10.0"
    [source] = actors(resource, "AUT")
    assert source["type"] == "Device"
    assert source["identifier"]["value"] == "oura-demo"
    assert codes(provision["class"], fhir.RESOURCE_TYPE_SYSTEM) == ["Observation"]
    assert codes(provision["class"], fhir.DATA_CATEGORY_SYSTEM) == ["blood-pressure", "steps"]
    assert codes(provision["action"], fhir.CONSENT_ACTION_SYSTEM) == ["collect", "disclose"]
    assert codes(provision["purpose"], fhir.ACT_REASON_SYSTEM) == ["PATRQT", "TREAT"]


def test_wellbeing_sharing_carries_no_unconfirmed_kanta_phr_category():
    resource = consent_to_fhir(make_consent("wellbeing-sharing"), patient=PATIENT)

    assert codes(resource["category"], fhir.KANTA_PHR_CONSENT_CATEGORY_SYSTEM) == []


def test_wellbeing_sharing_carries_the_kanta_phr_category_once_configured(monkeypatch):
    monkeypatch.setattr(fhir, "KANTA_PHR_CONSENT_CATEGORY_CODE", "example-code")

    resource = consent_to_fhir(make_consent("wellbeing-sharing"), patient=PATIENT)

    assert codes(resource["category"], fhir.KANTA_PHR_CONSENT_CATEGORY_SYSTEM) == ["example-code"]


def test_every_data_category_has_resource_types():
    categories = schemas.get("common/definitions.v1")["$defs"]["dataCategory"]["enum"]

    assert set(RESOURCE_TYPES_BY_CATEGORY) == set(categories)
    assert all(RESOURCE_TYPES_BY_CATEGORY.values())
    for category in ("blood-pressure", "blood-glucose", "body-weight", "steps", "heart-rate"):
        assert RESOURCE_TYPES_BY_CATEGORY[category] == ("Observation",)


def test_every_purpose_has_act_reason_codes():
    purposes = schemas.get("common/definitions.v1")["$defs"]["purpose"]["enum"]

    assert set(PURPOSE_OF_USE) == set(purposes)


def test_resource_variant_returns_the_validated_model():
    performer = {"reference": "Patient/self"}

    model = consent_to_fhir_resource(make_consent("biobank"), patient=PATIENT, performer=performer)

    assert isinstance(model, FhirConsent)
    assert model.status == "active"
    assert model.provision is not None
    assert model.provision.type == "permit"
    assert model.model_dump(mode="json", by_alias=True, exclude_none=True)["performer"] == [
        performer
    ]


def test_an_invalid_export_is_reported_as_our_bug(monkeypatch):
    monkeypatch.setattr(fhir, "_build", lambda consent, **_: {"resourceType": "Consent"})

    with pytest.raises(FhirExportError, match=r"bug in consents\.fhir"):
        consent_to_fhir(make_consent(), patient=PATIENT)
