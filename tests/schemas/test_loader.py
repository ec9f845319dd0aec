"""The schema package: every schema is sound, examples pass, and errors point at the field."""

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import schemas
from consents.states import Kind, Status
from schemas import SchemaValidationError

BIOBANK_SCOPE = {
    "biobank": {"organisation": "1.2.246.10.12345678.10.0", "name": "Auria Biobank"},
    "samples": {"collect": True, "types": ["blood", "dna"], "existingSamples": True},
    "registerLinking": {"allowed": True, "sources": ["kanta", "national-registers"]},
    "dataCategories": ["conditions", "medications", "samples", "register-data"],
    "permission": {"code": "DS", "disease": "C50"},
    "modifiers": ["NPU", "IRB", "IS", "TS", "MOR"],
    "restrictions": {
        "institutions": ["1.2.246.10.2345678.10.0"],
        "until": "2035-01-01T00:00:00Z",
        "moratoriumUntil": "2027-06-30T00:00:00+03:00",
    },
    "recontact": True,
}
NEEDS_ASSESSMENT_SCOPE = {
    "senders": [
        {"organisation": "1.2.246.10.1111111.10.0", "name": "Pirkanmaan hyvinvointialue"},
        {"providerKind": "occupational-health"},
    ],
    "channels": ["dashboard", "sms"],
    "lifeAreas": ["health", "mental-wellbeing", "everyday-functioning"],
}
PROVIDER_SHARING_SCOPE = {
    "recipient": {"organisation": "1.2.246.10.7654321.10.0", "name": "Terveystalo"},
    "dataCategories": ["conditions", "medications", "observations"],
    "purpose": "care",
    "frequencyPerDay": 4,
    "dataPeriod": {"start": "2020-01-01T00:00:00Z"},
}
WELLBEING_SHARING_SCOPE = {
    "dataCategories": ["blood-pressure", "body-weight"],
    "sources": [{"application": "omamittari-app", "name": "Omamittari", "device": "BP-100"}],
    "targets": [
        {"type": "kanta-phr"},
        {"type": "provider", "recipient": {"providerKind": "wellbeing-county"}},
    ],
}
KIND_SCOPES = {
    "biobank": BIOBANK_SCOPE,
    "needs-assessment": NEEDS_ASSESSMENT_SCOPE,
    "provider-sharing": PROVIDER_SHARING_SCOPE,
    "wellbeing-sharing": WELLBEING_SHARING_SCOPE,
}
NOTICE = {"text": "Annan suostumuksen tietojeni luovuttamiseen.", "language": "fi"}
REQUESTS: dict[str, Any] = {
    "requests/consent-grant.v1": {
        "kind": "provider-sharing",
        "scope": PROVIDER_SHARING_SCOPE,
        "provision": "permit",
        "period": {"start": "2025-01-01T00:00:00+02:00", "end": "2026-01-01T00:00:00+02:00"},
        "notice": NOTICE,
        "subject": "6f1c1c7e-2f0a-4b51-9d8e-0b9a4c1d2e3f",
    },
    "requests/consent-change.v1": {"scope": PROVIDER_SHARING_SCOPE, "notice": NOTICE},
    "requests/consent-action.v1": {"reason": "En enää asioi tällä palveluntuottajalla."},
    "requests/wellbeing-submission.v1": {
        "subject": {"personalIdentityCode": "131052-308T"},
        "resources": [{"resourceType": "Observation", "status": "final"}],
    },
    "requests/consent-approve.v1": {"notice": NOTICE},
    "requests/consent-request.v1": {
        "kind": "provider-sharing",
        "scope": PROVIDER_SHARING_SCOPE,
        "period": {"end": "2026-01-01T00:00:00Z"},
        "purpose": "care",
        "subject": {"personalIdentityCode": "131052-308T"},
        "requestValidForDays": 14,
        "notice": {"text": "We ask to see your diagnoses for your treatment.", "language": "en"},
    },
    "requests/research-request.v1": {
        "biobank": "1.2.246.10.12345678.10.0",
        "purpose": {"code": "DS", "disease": "C50.9"},
        "declarations": ["NPU", "IRB"],
        "methodsDevelopment": False,
        "institution": "1.2.246.10.2345678.10.0",
        "project": "BREAST-2025",
        "dataCategories": ["conditions", "samples"],
    },
    "requests/needs-assessment-offer.v1": {
        "sender": "1.2.246.10.1111111.10.0",
        "lifeArea": "health",
        "channel": "dashboard",
        "title": "Virtuaalinen terveystarkastus",
        "body": "Tervetuloa maksuttomaan virtuaaliseen terveystarkastukseen.",
        "targetGroup": {"ageFrom": 40, "ageTo": 65, "municipality": "837"},
    },
}
RECEIPT = {
    "version": "tahto-receipt/1",
    "jurisdiction": "FI",
    "consentTimestamp": 1735682400,
    "collectionMethod": "dashboard",
    "consentReceiptID": "0b0e4a58-5d8e-4d52-8f3c-2a1b3c4d5e6f",
    "publicKey": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    "language": "fi",
    "piiPrincipalId": "6f1c1c7e-2f0a-4b51-9d8e-0b9a4c1d2e3f",
    "piiControllers": [
        {
            "name": "Terveystalo",
            "organisationId": "1.2.246.10.7654321.10.0",
            "contact": "tietosuoja@example.fi",
        }
    ],
    "policyUrl": "https://tahto.example.fi/privacy",
    "services": [
        {
            "service": "Data sharing to providers",
            "purposes": [
                {
                    "purpose": "Care of the citizen",
                    "purposeCategory": ["care"],
                    "consentType": "EXPLICIT",
                    "piiCategory": ["conditions", "medications"],
                    "primaryPurpose": True,
                    "termination": "Until 2026-01-01, or when withdrawn in Tahto.",
                    "thirdPartyDisclosure": True,
                    "thirdPartyName": "Terveystalo",
                }
            ],
        }
    ],
    "sensitive": True,
    "spiCat": ["health"],
    "event": "consent.granted",
    "consent": {
        "id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "lineage": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "version": 1,
        "kind": "provider-sharing",
        "status": "active",
        "provision": "permit",
        "scope": PROVIDER_SHARING_SCOPE,
        "scopeSchema": "consent-kinds/provider-sharing.v1",
        "validFrom": "2025-01-01T00:00:00+02:00",
        "validUntil": "2026-01-01T00:00:00+02:00",
    },
    "actor": {"id": "6f1c1c7e-2f0a-4b51-9d8e-0b9a4c1d2e3f", "role": "self"},
    "noticeSha256": "a" * 64,
    "log": {"seq": 0, "leafHash": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="},
}


def errors_of(name: str, instance: object, **kwargs: Any) -> list[schemas.ValidationIssue]:
    with pytest.raises(SchemaValidationError) as caught:
        schemas.validate(name, instance, **kwargs)
    return caught.value.errors


def pointers(errors: list[schemas.ValidationIssue]) -> set[str]:
    return {e["pointer"] for e in errors}


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every subschema with its path, except `if` conditions (they test, they name no field)."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("if", "examples", "enum", "const"):
                continue
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


# --- the schemas themselves -------------------------------------------------------------


def test_names_lists_every_schema_and_no_data_file():
    root = Path(schemas.__file__).parent
    on_disk = {
        str(p.relative_to(root).with_suffix(""))
        for p in root.rglob("*.json")
        if p.relative_to(root).parts[0] != "vocab"
    }
    assert set(schemas.names()) == on_disk
    assert not any(name.startswith("vocab/") for name in schemas.names())
    assert {"receipt.v1", "common/definitions.v1", *REQUESTS} <= set(schemas.names())


@pytest.mark.parametrize("name", schemas.names())
def test_schema_is_valid_against_the_2020_12_metaschema(name):
    schema = schemas.get(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://schemas.tahto.fi/{name}.json"
    assert schema["title"] and schema["description"]


@pytest.mark.parametrize("name", schemas.names())
def test_every_property_and_definition_has_a_description(name):
    missing = []
    for path, node in walk(schemas.get(name)):
        for group in ("properties", "$defs"):
            for field, sub in node.get(group, {}).items():
                if not (isinstance(sub, dict) and sub.get("description")):
                    missing.append(f"{path}/{group}/{field}")
        if "items" in node and not node["items"].get("description"):
            missing.append(f"{path}/items")
    assert missing == []


@pytest.mark.parametrize("name", schemas.names())
def test_every_object_with_fields_rejects_unknown_fields(name):
    open_objects = [
        path
        for path, node in walk(schemas.get(name))
        if node.get("type") == "object"
        and "properties" in node
        and node.get("additionalProperties") is not False
        and node.get("unevaluatedProperties") is not False
    ]
    assert open_objects == []


@pytest.mark.parametrize("name", schemas.names())
def test_every_reference_resolves(name):
    resolver = schemas._load()[2].resolver(f"{schemas.BASE_URI}{name}.json")
    refs = [node["$ref"] for _, node in walk(schemas.get(name)) if "$ref" in node]
    for ref in refs:
        assert resolver.lookup(ref).contents, ref


def test_get_returns_a_copy_that_callers_cannot_corrupt():
    schemas.get("receipt.v1")["properties"].clear()
    assert schemas.get("receipt.v1")["properties"]


def test_get_of_an_unknown_schema_names_the_known_ones():
    with pytest.raises(KeyError, match=r"consent-kinds/biobank\.v1"):
        schemas.get("consent-kinds/colour.v1")


def test_kind_schema_maps_each_consent_kind_to_an_existing_schema():
    assert {kind.value for kind in Kind} == set(schemas.KIND_SCHEMAS)
    for kind in Kind:
        assert schemas.kind_schema(kind.value) in schemas.names()
    with pytest.raises(KeyError, match="unknown consent kind"):
        schemas.kind_schema("marketing")


def test_schema_enums_agree_with_the_domain_model():
    definitions = schemas.get("common/definitions.v1")["$defs"]
    assert definitions["consentKind"]["enum"] == [kind.value for kind in Kind]
    receipt_status = schemas.get("receipt.v1")["properties"]["consent"]["properties"]["status"]
    assert set(receipt_status["enum"]) == {status.value for status in Status}


def test_duo_vocabulary_matches_the_code_enums():
    vocabulary = schemas.duo_vocabulary()
    definitions = schemas.get("common/definitions.v1")["$defs"]
    assert set(vocabulary) == set(definitions["duoCode"]["enum"])
    permissions = {code for code, entry in vocabulary.items() if entry["type"] == "permission"}
    modifiers = {code for code, entry in vocabulary.items() if entry["type"] == "modifier"}
    assert permissions == set(definitions["duoPermission"]["enum"])
    assert modifiers == set(definitions["duoModifier"]["enum"])
    assert vocabulary["NPU"]["id"] == "DUO:0000045"
    assert vocabulary["NCU"]["id"] == "DUO:0000046"
    assert len({entry["id"] for entry in vocabulary.values()}) == len(vocabulary)
    assert all(entry["label"] and entry["definition"] for entry in vocabulary.values())


# --- valid examples ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KIND_SCOPES))
def test_a_valid_scope_of_each_kind_passes(kind):
    schemas.validate(schemas.kind_schema(kind), KIND_SCOPES[kind])


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_a_valid_request_body_passes(name):
    schemas.validate(name, REQUESTS[name])


def test_a_valid_receipt_passes():
    schemas.validate("receipt.v1", RECEIPT)


def test_an_empty_consent_action_passes_because_withdrawing_needs_no_reason():
    schemas.validate("requests/consent-action.v1", {})


def test_minimal_biobank_scope_with_general_research_use_passes():
    scope = {
        "biobank": {"organisation": "1.2.246.10.12345678.10.0", "name": "Helsinki Biobank"},
        "samples": {"collect": False},
        "registerLinking": {"allowed": False},
        "dataCategories": [],
        "permission": {"code": "GRU"},
        "recontact": False,
    }
    schemas.validate("consent-kinds/biobank.v1", scope)


# --- errors --------------------------------------------------------------------------------


def test_invalid_json_is_reported_at_the_root_with_line_and_column():
    with pytest.raises(SchemaValidationError) as caught:
        schemas.parse_json(b'{\n  "kind": "biobank",\n  "scope": }')
    [error] = caught.value.errors
    assert error["pointer"] == ""
    assert error["keyword"] == "json"
    assert "line 3, column 12" in error["message"]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"a": 1, "a": 2}', "appears twice"),
        (b"[NaN]", "NaN is not a JSON number"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_ambiguous_or_broken_bodies_are_refused(raw, fragment):
    with pytest.raises(SchemaValidationError, match=fragment):
        schemas.parse_json(raw)


def test_parse_json_returns_the_document():
    assert schemas.parse_json('{"reason": "muutin"}') == {"reason": "muutin"}


def test_unknown_field_is_reported_at_the_field_itself_under_the_prefix():
    scope = dict(PROVIDER_SHARING_SCOPE, colour="red")
    [error] = errors_of("consent-kinds/provider-sharing.v1", scope, prefix="/scope")
    assert error["pointer"] == "/scope/colour"
    assert error["keyword"] == "additionalProperties"
    assert "scope.colour is not a known field" in error["message"]
    assert "recipient" in error["message"]


def test_missing_field_is_reported_at_the_missing_field():
    scope = {k: v for k, v in PROVIDER_SHARING_SCOPE.items() if k != "recipient"}
    [error] = errors_of("consent-kinds/provider-sharing.v1", scope, prefix="/scope")
    assert error == {
        "pointer": "/scope/recipient",
        "message": "scope.recipient is required.",
        "keyword": "required",
    }


def test_bad_hetu_control_character_names_the_expected_one_without_echoing_the_code():
    body = copy.deepcopy(REQUESTS["requests/consent-request.v1"])
    body["subject"]["personalIdentityCode"] = "131052-308U"
    [error] = errors_of("requests/consent-request.v1", body)
    assert error["pointer"] == "/subject/personalIdentityCode"
    assert error["keyword"] == "format"
    assert "expected 'T'" in error["message"]
    assert "131052" not in error["message"]


def test_unknown_duo_code_is_reported_at_its_array_item():
    scope = dict(BIOBANK_SCOPE, modifiers=["NPU", "IRB", "IS", "TS", "MOR", "FUN"])
    [error] = errors_of("consent-kinds/biobank.v1", scope, prefix="/scope")
    assert error["pointer"] == "/scope/modifiers/5"
    assert error["keyword"] == "enum"
    assert '"FUN"' in error["message"]


def test_disease_specific_permission_without_a_disease_asks_for_the_disease():
    scope = dict(BIOBANK_SCOPE, permission={"code": "DS"})
    [error] = errors_of("consent-kinds/biobank.v1", scope)
    assert error["pointer"] == "/permission/disease"
    assert error["keyword"] == "required"
    assert "ICD-10" in error["message"]


def test_a_disease_without_the_disease_specific_permission_is_refused():
    scope = dict(BIOBANK_SCOPE, permission={"code": "HMB", "disease": "C50"})
    [error] = errors_of("consent-kinds/biobank.v1", scope)
    assert error["pointer"] == "/permission/disease"
    assert "only with the disease-specific (DS) permission" in error["message"]


def test_a_disease_must_be_an_icd10_code():
    body = dict(REQUESTS["requests/research-request.v1"], purpose={"code": "DS", "disease": "x"})
    [error] = errors_of("requests/research-request.v1", body)
    assert error["pointer"] == "/purpose/disease"
    assert error["keyword"] == "pattern"
    assert "is not a valid ICD-10 code" in error["message"]


def test_all_errors_are_reported_at_once():
    body = {
        "kind": "biobank",
        "scope": {},
        "provision": "maybe",
        "period": {"start": "2025-01-01T00:00:00"},
        "notice": {"text": "", "language": "de"},
        "subject": "not-a-uuid",
        "extra": 1,
    }
    errors = errors_of("requests/consent-grant.v1", body)
    assert pointers(errors) == {
        "/provision",
        "/period/start",
        "/notice/text",
        "/notice/language",
        "/subject",
        "/extra",
    }
    assert all(e["message"] and e["keyword"] for e in errors)


def test_scope_errors_of_every_kind_of_mistake_come_together():
    scope = {
        "biobank": {"organisation": "not an oid", "name": "B"},
        "samples": {"collect": False, "types": ["blood"]},
        "registerLinking": {"allowed": True},
        "dataCategories": ["conditions", "conditions", "register-data"],
        "permission": {"code": "GRU"},
        "modifiers": ["PS"],
        "recontact": "yes",
    }
    errors = errors_of("consent-kinds/biobank.v1", scope, prefix="/scope")
    assert {(e["pointer"], e["keyword"]) for e in errors} == {
        ("/scope/biobank/organisation", "pattern"),
        ("/scope/samples/types", "maxItems"),
        ("/scope/dataCategories", "uniqueItems"),
        ("/scope/restrictions", "required"),
        ("/scope/recontact", "type"),
    }
    by_pointer = {e["pointer"]: e["message"] for e in errors}
    assert "such as 1.2.246.10.12345678.10.0" in by_pointer["/scope/biobank/organisation"]
    assert "project-specific modifier (PS)" in by_pointer["/scope/restrictions"]
    assert "must be true or false, not a string" in by_pointer["/scope/recontact"]


def test_samples_category_needs_consent_to_collect_samples():
    scope = dict(BIOBANK_SCOPE, samples={"collect": False})
    [error] = errors_of("consent-kinds/biobank.v1", scope)
    assert error["pointer"] == "/samples/collect"
    assert error["keyword"] == "const"


def test_restriction_without_its_modifier_is_refused():
    scope = dict(BIOBANK_SCOPE, modifiers=["NPU", "IRB", "TS", "MOR"])
    [error] = errors_of("consent-kinds/biobank.v1", scope)
    assert error["pointer"] == "/modifiers"
    assert error["keyword"] == "contains"
    assert '"IS"' in error["message"]


@pytest.mark.parametrize(
    ("recipient", "pointer", "keyword"),
    [
        ({}, "/recipient/organisation", "required"),
        ({"providerKind": "biobank", "organisation": "1.2.3"}, "/recipient/organisation", "not"),
        ({"providerKind": "biobank", "name": "X"}, "/recipient/name", "not"),
        ({"providerKind": "dentist"}, "/recipient/providerKind", "enum"),
        ({"organisation": "1.2.3", "city": "Oulu"}, "/recipient/city", "additionalProperties"),
    ],
)
def test_a_recipient_is_exactly_one_organisation_or_one_kind(recipient, pointer, keyword):
    scope = dict(PROVIDER_SHARING_SCOPE, recipient=recipient)
    [error] = errors_of("consent-kinds/provider-sharing.v1", scope)
    assert (error["pointer"], error["keyword"]) == (pointer, keyword)


def test_provider_sharing_cannot_cover_biobank_categories():
    scope = dict(PROVIDER_SHARING_SCOPE, dataCategories=["conditions", "samples"])
    [error] = errors_of("consent-kinds/provider-sharing.v1", scope)
    assert error["pointer"] == "/dataCategories/1"
    assert "biobank consent" in error["message"]


def test_wellbeing_targets_name_a_recipient_exactly_when_they_are_providers():
    scope = dict(
        WELLBEING_SHARING_SCOPE,
        dataCategories=["conditions"],
        targets=[
            {"type": "provider"},
            {"type": "kanta-phr", "recipient": {"providerKind": "biobank"}},
        ],
    )
    errors = errors_of("consent-kinds/wellbeing-sharing.v1", scope)
    assert {(e["pointer"], e["keyword"]) for e in errors} == {
        ("/dataCategories/0", "enum"),
        ("/targets/0/recipient", "required"),
        ("/targets/1/recipient", "not"),
    }


@pytest.mark.parametrize("kind", sorted(KIND_SCOPES))
def test_empty_scope_of_each_kind_lists_every_required_field(kind):
    name = schemas.kind_schema(kind)
    errors = errors_of(name, {}, prefix="/scope")
    required = schemas.get(name)["required"]
    assert pointers(errors) == {f"/scope/{field}" for field in required}


def test_pointer_tokens_are_escaped_per_rfc_6901():
    [error] = errors_of("requests/consent-action.v1", {"a/b~c": 1}, prefix="/x~1y")
    assert error["pointer"] == "/x~1y/a~1b~0c"


def test_type_errors_at_the_root_are_named_the_body():
    [error] = errors_of("requests/consent-action.v1", [])
    assert error["pointer"] == ""
    assert error["message"] == "The body must be an object, not an array."


def test_error_str_lists_every_error_readably():
    with pytest.raises(SchemaValidationError) as caught:
        schemas.validate("requests/consent-action.v1", {"reason": "x" * 501, "why": 1})
    text = str(caught.value)
    assert text.startswith("2 validation errors:")
    assert "/reason: reason must have at most 500 characters; it has 501." in text
    assert "/why: why is not a known field" in text


def test_collect_errors_returns_an_empty_list_for_a_valid_document():
    assert schemas.collect_errors("requests/consent-action.v1", {"reason": "ok"}) == []


def test_errors_are_json_serialisable_for_problem_responses():
    errors = errors_of("requests/consent-grant.v1", {"kind": "unknown"})
    assert json.loads(json.dumps(errors)) == errors


@pytest.mark.parametrize(
    ("value", "fmt", "ok"),
    [
        ("2025-01-31T09:30:00+02:00", "date-time", True),
        ("2025-01-31T07:30:00.123Z", "date-time", True),
        ("2025-01-31T07:30:00", "date-time", False),
        ("2025-01-31 07:30:00Z", "date-time", False),
        ("2025-02-30T07:30:00Z", "date-time", False),
        ("2025-01-31T24:00:00Z", "date-time", False),
        ("2025-01-31T07:30:00+24:00", "date-time", False),
        ("2024-02-29", "date", True),
        ("2023-02-29", "date", False),
        ("20240229", "date", False),
        ("6f1c1c7e-2f0a-4b51-9d8e-0b9a4c1d2e3f", "uuid", True),
        ("6f1c1c7e2f0a4b519d8e0b9a4c1d2e3f", "uuid", False),
        ("131052-308T", "fi-hetu", True),
        ("131052-308U", "fi-hetu", False),
    ],
)
def test_format_checker_checks_our_formats(value, fmt, ok):
    assert schemas.FORMAT_CHECKER.conforms(value, fmt) is ok
