"""Any consent as a FHIR R4 Consent resource, for Kanta, providers and regulators.

Built as a plain JSON-ready dict and checked with ``fhir.resources.R4B`` (R4B's Consent is
R4's) before it is returned: an export that does not validate is our bug, and says so.

Mapping decisions (codes confirmed against HL7 terminology unless noted):

* ``status``: requested -> proposed, active -> active, rejected -> rejected; every state that
  no longer permits anything (paused, withdrawn, revoked, terminated, expired, superseded)
  -> inactive. ``scope``: biobank -> research, the other kinds -> patient-privacy.
* ``category``: LOINC 59284-0 "Patient Consent" and the Tahto kind. The Kanta PHR consent
  category system (``KANTA_PHR_CONSENT_CATEGORY_SYSTEM``) is known, but no code of it could be
  confirmed from a public source, so that coding is added only once
  ``KANTA_PHR_CONSENT_CATEGORY_CODE`` is set.
* ``provision.purpose`` (v3-ActReason, ``PURPOSE_OF_USE``): care -> TREAT, care-coordination
  -> CAREMGT, research -> HRESCH, self-care-support -> PATRQT ("in response to a patient's
  request": the citizen shares their own data), service-need-assessment -> POPHLTH
  ("provision of health care to a population", the proactive outreach) together with CAREMGT
  (the service guidance that follows). Each also carries the Tahto purpose code.
* ``provision.actor``: recipients (role IRCP, information recipient) and needs-assessment
  senders (role PRF, performer: they carry out the assessment) by OID
  (``urn:ietf:rfc:3986`` / ``urn:oid:...``); a kind of provider, or Kanta PHR, by display
  and an extension naming it; the applications a wellbeing consent covers with role AUT
  (author: the data's originator).
* ``provision.class``: FHIR resource types of the data categories
  (``RESOURCE_TYPES_BY_CATEGORY``) plus the Tahto data-category codes, which keep the
  difference between e.g. steps and blood pressure (both Observation).
* biobank ``provision.code``: the DUO permission and modifiers; a nested provision carries
  the DS disease (ICD-10) and the IS/PS/TS/MOR restrictions.
* needs-assessment: life areas as ``provision.code`` (Tahto code system), channels as an
  extension; provider-sharing ``frequencyPerDay`` as an extension.

Not exported (no FHIR home; the Tahto scope stays the source of truth): biobank sample types,
existing samples, register-linking sources and recontact; wellbeing source devices.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from django.conf import settings
from fhir.resources.R4B.consent import Consent as FhirConsent
from pydantic import ValidationError

import schemas

from .fhir_terminology import DATA_CATEGORY_SYSTEM, FhirConformanceError, fhir_check
from .models import Consent
from .receipts import iso_utc
from .states import Kind, Status

TAHTO_SYSTEM_BASE = "https://schemas.tahto.fi/"
CONSENT_KIND_SYSTEM = "https://schemas.tahto.fi/consent-kind"
PURPOSE_SYSTEM = "https://schemas.tahto.fi/purpose"
LIFE_AREA_SYSTEM = "https://schemas.tahto.fi/life-area"
RESEARCH_PROJECT_SYSTEM = "https://schemas.tahto.fi/research-project"
EXTENSION_BASE = "https://schemas.tahto.fi/fhir/StructureDefinition/"
EXT_PROVIDER_KIND = EXTENSION_BASE + "provider-kind"
EXT_TARGET_TYPE = EXTENSION_BASE + "wellbeing-target-type"
EXT_CONTACT_CHANNEL = EXTENSION_BASE + "contact-channel"
EXT_FREQUENCY_PER_DAY = EXTENSION_BASE + "frequency-per-day"
EXT_MORATORIUM_UNTIL = EXTENSION_BASE + "publication-moratorium-until"

LOINC = "http://loinc.org"
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
ACT_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
RESOURCE_TYPE_SYSTEM = "http://hl7.org/fhir/resource-types"
DUO_SYSTEM = "http://purl.obolibrary.org/obo/duo"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
URI_SYSTEM = "urn:ietf:rfc:3986"
KANTA_PHR_CONSENT_CATEGORY_SYSTEM = "http://phr.kanta.fi/fiphr-cs-consentcategory"
#: Unconfirmed: set to the right code of the Kanta PHR consent category system once known.
KANTA_PHR_CONSENT_CATEGORY_CODE: str | None = None

#: Tahto consent status -> FHIR R4 Consent.status.
STATUS_TO_FHIR: Mapping[str, str] = MappingProxyType(
    {
        Status.REQUESTED: "proposed",
        Status.ACTIVE: "active",
        Status.PAUSED: "inactive",
        Status.WITHDRAWN: "inactive",
        Status.REVOKED: "inactive",
        Status.TERMINATED: "inactive",
        Status.EXPIRED: "inactive",
        Status.SUPERSEDED: "inactive",
        Status.REJECTED: "rejected",
    }
)

#: Tahto data category -> the FHIR resource types its data travels in (Kanta connector too).
RESOURCE_TYPES_BY_CATEGORY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "demographics": ("Patient",),
        "conditions": ("Condition",),
        "medications": ("MedicationStatement",),
        "immunizations": ("Immunization",),
        "observations": ("Observation",),
        "questionnaires": ("QuestionnaireResponse",),
        "blood-pressure": ("Observation",),
        "blood-glucose": ("Observation",),
        "body-weight": ("Observation",),
        "steps": ("Observation",),
        "heart-rate": ("Observation",),
        "sleep": ("Observation",),
        "life-situation": ("QuestionnaireResponse",),
        "functional-capacity": ("QuestionnaireResponse",),
        "samples": ("Specimen",),
        # Linked register data (care register visits and procedures, diagnoses, dispensed
        # prescriptions): no single resource type, so the types those registers map to.
        "register-data": ("Encounter", "Condition", "Procedure", "MedicationDispense"),
    }
)

#: Tahto purpose -> v3-ActReason purpose-of-use codings (code, display).
PURPOSE_OF_USE: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        "care": (("TREAT", "treatment"),),
        "care-coordination": (("CAREMGT", "care management"),),
        "service-need-assessment": (
            ("POPHLTH", "population health"),
            ("CAREMGT", "care management"),
        ),
        "self-care-support": (("PATRQT", "patient requested"),),
        "research": (("HRESCH", "healthcare research"),),
    }
)

_ACTION_DISPLAY = {"collect": "Collect", "access": "Access", "use": "Use", "disclose": "Disclose"}
_ROLE_DISPLAY = {"IRCP": "information recipient", "PRF": "performer", "AUT": "author (originator)"}


class FhirExportError(ValueError):
    """The exported resource does not validate as FHIR R4 Consent: a bug in this module."""


def consent_to_fhir(
    consent: Consent, *, patient: dict[str, Any], performer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return ``consent`` as a JSON-ready FHIR R4 Consent, validated with fhir.resources.

    ``patient`` and ``performer`` are FHIR References chosen by the caller: e.g. the
    personal identity code (system urn:oid:1.2.246.21) for Kanta, or a pseudonymous
    reference inside Tahto.
    """
    resource = _build(consent, patient=patient, performer=performer)
    _validated(resource)
    return resource


def consent_to_fhir_resource(
    consent: Consent, *, patient: dict[str, Any], performer: dict[str, Any] | None = None
) -> FhirConsent:
    """Return ``consent`` as a validated ``fhir.resources.R4B.consent.Consent`` model."""
    return _validated(_build(consent, patient=patient, performer=performer))


def _validated(resource: dict[str, Any]) -> FhirConsent:
    try:
        model = FhirConsent.model_validate(resource)
        fhir_check(resource)  # required bindings, which fhir.resources does not check
    except (ValidationError, FhirConformanceError) as exc:
        raise FhirExportError(
            f"consent {resource.get('id')} exports as an invalid FHIR R4 Consent "
            f"(a bug in consents.fhir): {exc}"
        ) from exc
    return model


# --------------------------------------------------------------------------- the resource


def _build(
    consent: Consent, *, patient: dict[str, Any], performer: dict[str, Any] | None
) -> dict[str, Any]:
    kind = Kind(consent.kind)
    scope = consent.scope if isinstance(consent.scope, dict) else {}
    base = settings.TAHTO_PUBLIC_URL
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": str(consent.id),
        "identifier": [
            {
                "use": "usual",
                "system": f"{base}/id/consent-lineage",
                "value": str(consent.lineage),
            },
            {
                "use": "official",
                "system": f"{base}/id/consent-version",
                "value": f"{consent.lineage}:{consent.version}",
            },
        ],
        "status": STATUS_TO_FHIR[consent.status],
        "scope": _scope(kind),
        "category": _categories(kind),
        "patient": patient,
        "dateTime": iso_utc(consent.created_at),
        "organization": [
            {
                "type": "Organization",
                "identifier": _oid_identifier(settings.TAHTO_OPERATOR_ID),
                "display": settings.TAHTO_OPERATOR_NAME,
            }
        ],
        "policy": [{"uri": _policy_uri(consent)}],
        "provision": _provision(consent, kind, scope),
    }
    if performer is not None:
        resource["performer"] = [performer]
    return resource


def _scope(kind: Kind) -> dict[str, Any]:
    if kind == Kind.BIOBANK:
        return _concept(CONSENT_SCOPE_SYSTEM, "research", "Research")
    return _concept(CONSENT_SCOPE_SYSTEM, "patient-privacy", "Privacy Consent")


def _categories(kind: Kind) -> list[dict[str, Any]]:
    categories = [
        _concept(LOINC, "59284-0", "Patient Consent"),
        _concept(CONSENT_KIND_SYSTEM, kind.value, str(kind.label)),
    ]
    if kind == Kind.WELLBEING_SHARING and KANTA_PHR_CONSENT_CATEGORY_CODE:
        categories.append(
            _concept(KANTA_PHR_CONSENT_CATEGORY_SYSTEM, KANTA_PHR_CONSENT_CATEGORY_CODE)
        )
    return categories


def _policy_uri(consent: Consent) -> str:
    """The $id of the JSON Schema the scope follows."""
    name = consent.schema or schemas.kind_schema(consent.kind)
    return f"{schemas.BASE_URI}{name.removesuffix('.json')}.json"


def _provision(consent: Consent, kind: Kind, scope: dict[str, Any]) -> dict[str, Any]:
    provision: dict[str, Any] = {"type": consent.provision}
    period = {"start": iso_utc(consent.valid_from)}
    if consent.valid_until is not None:
        period["end"] = iso_utc(consent.valid_until)
    provision["period"] = period

    builder = {
        Kind.BIOBANK: _biobank,
        Kind.NEEDS_ASSESSMENT: _needs_assessment,
        Kind.PROVIDER_SHARING: _provider_sharing,
        Kind.WELLBEING_SHARING: _wellbeing_sharing,
    }[kind]
    builder(provision, scope, consent.provision)

    categories = [c for c in scope.get("dataCategories") or [] if isinstance(c, str)]
    if categories:
        provision["class"] = _classes(categories)
    data_period = scope.get("dataPeriod")
    if isinstance(data_period, dict) and data_period:
        provision["dataPeriod"] = {
            k: _fhir_datetime(v) for k, v in data_period.items() if k in ("start", "end")
        }
    return {k: v for k, v in provision.items() if v not in (None, [], {})}


def _biobank(provision: dict[str, Any], scope: dict[str, Any], provision_type: str) -> None:
    if isinstance(scope.get("biobank"), dict):
        provision["actor"] = [_actor("IRCP", scope["biobank"])]
    samples = scope.get("samples") or {}
    linking = scope.get("registerLinking") or {}
    actions = ["collect"] if samples.get("collect") or linking.get("allowed") else []
    provision["action"] = _actions([*actions, "use", "disclose"])
    provision["purpose"] = _purposes(["research"])

    duo = _duo()
    permission = scope.get("permission") or {}
    codes = [permission.get("code"), *(scope.get("modifiers") or [])]
    provision["code"] = [_duo_concept(duo, code) for code in codes if code]

    nested: dict[str, Any] = {"type": provision_type}
    if permission.get("code") == "DS" and permission.get("disease"):
        nested["code"] = [_concept(ICD10_SYSTEM, str(permission["disease"]))]
    restrictions = scope.get("restrictions") or {}
    institutions = [{"organisation": oid} for oid in restrictions.get("institutions") or []]
    if institutions:
        nested["actor"] = [_actor("IRCP", org) for org in institutions]
    projects = restrictions.get("projects") or []
    if projects:
        nested.setdefault("code", []).extend(
            _concept(RESEARCH_PROJECT_SYSTEM, str(p)) for p in projects
        )
    if restrictions.get("until"):
        nested["period"] = {"end": _fhir_datetime(restrictions["until"])}
    if restrictions.get("moratoriumUntil"):
        nested["extension"] = [
            {
                "url": EXT_MORATORIUM_UNTIL,
                "valueDateTime": _fhir_datetime(restrictions["moratoriumUntil"]),
            }
        ]
    if len(nested) > 1:
        provision["provision"] = [nested]


def _needs_assessment(provision: dict[str, Any], scope: dict[str, Any], _type: str) -> None:
    provision["actor"] = [
        _actor("PRF", sender) for sender in scope.get("senders") or [] if isinstance(sender, dict)
    ]
    provision["action"] = _actions(["use"])
    provision["purpose"] = _purposes(["service-need-assessment"])
    provision["code"] = [_concept(LIFE_AREA_SYSTEM, str(a)) for a in scope.get("lifeAreas") or []]
    provision["extension"] = [
        {"url": EXT_CONTACT_CHANNEL, "valueCode": str(channel)}
        for channel in scope.get("channels") or []
    ]


def _provider_sharing(provision: dict[str, Any], scope: dict[str, Any], _type: str) -> None:
    if isinstance(scope.get("recipient"), dict):
        provision["actor"] = [_actor("IRCP", scope["recipient"])]
    provision["action"] = _actions(["access", "disclose"])
    purpose = scope.get("purpose")
    provision["purpose"] = _purposes([str(purpose)] if purpose in PURPOSE_OF_USE else [])
    if isinstance(scope.get("frequencyPerDay"), int):
        provision["extension"] = [
            {"url": EXT_FREQUENCY_PER_DAY, "valuePositiveInt": scope["frequencyPerDay"]}
        ]


def _wellbeing_sharing(provision: dict[str, Any], scope: dict[str, Any], _type: str) -> None:
    actors: list[dict[str, Any]] = []
    targets = [t for t in scope.get("targets") or [] if isinstance(t, dict)]
    for target in targets:
        if target.get("type") == "provider" and isinstance(target.get("recipient"), dict):
            actors.append(_actor("IRCP", target["recipient"]))
        elif target.get("type") == "kanta-phr":
            reference: dict[str, Any] = {
                "type": "Organization",
                "display": "Kanta PHR (Omatietovaranto)",
                "extension": [{"url": EXT_TARGET_TYPE, "valueCode": "kanta-phr"}],
            }
            actors.append({"role": _role("IRCP"), "reference": reference})
    for source in scope.get("sources") or []:
        if isinstance(source, dict) and source.get("application"):
            reference = {
                "type": "Device",
                "identifier": {
                    "system": f"{settings.TAHTO_PUBLIC_URL}/id/application",
                    "value": str(source["application"]),
                },
                "display": str(source.get("name") or source["application"]),
            }
            actors.append({"role": _role("AUT"), "reference": reference})
    provision["actor"] = actors
    to_provider = any(t.get("type") == "provider" for t in targets)
    provision["action"] = _actions(["collect", "disclose"] if to_provider else ["collect"])
    provision["purpose"] = _purposes(["self-care-support", *(["care"] if to_provider else [])])


# --------------------------------------------------------------------------- pieces


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _oid_identifier(oid: str) -> dict[str, str]:
    return {"system": URI_SYSTEM, "value": f"urn:oid:{oid}"}


def _role(code: str) -> dict[str, Any]:
    return _concept(PARTICIPATION_TYPE_SYSTEM, code, _ROLE_DISPLAY[code])


def _actor(role: str, party: dict[str, Any]) -> dict[str, Any]:
    """One organisation by OID, or every organisation of a kind by display and extension."""
    reference: dict[str, Any] = {"type": "Organization"}
    if party.get("organisation"):
        reference["identifier"] = _oid_identifier(str(party["organisation"]))
        if party.get("name"):
            reference["display"] = str(party["name"])
    elif party.get("providerKind"):
        kind = str(party["providerKind"])
        reference["display"] = f"Any organisation of kind {kind}"
        reference["extension"] = [{"url": EXT_PROVIDER_KIND, "valueCode": kind}]
    else:
        raise FhirExportError(f"a party names neither organisation nor providerKind: {party!r}")
    return {"role": _role(role), "reference": reference}


def _actions(codes: list[str]) -> list[dict[str, Any]]:
    return [_concept(CONSENT_ACTION_SYSTEM, c, _ACTION_DISPLAY[c]) for c in codes]


def _purposes(purposes: list[str]) -> list[dict[str, str]]:
    codings: list[dict[str, str]] = []
    for purpose in purposes:
        for code, display in PURPOSE_OF_USE[purpose]:
            coding = {"system": ACT_REASON_SYSTEM, "code": code, "display": display}
            if coding not in codings:
                codings.append(coding)
    codings.extend({"system": PURPOSE_SYSTEM, "code": p} for p in purposes)
    return codings


def _classes(categories: list[str]) -> list[dict[str, str]]:
    types: list[str] = []
    for category in categories:
        for resource_type in RESOURCE_TYPES_BY_CATEGORY.get(category, ()):
            if resource_type not in types:
                types.append(resource_type)
    return [{"system": RESOURCE_TYPE_SYSTEM, "code": t} for t in types] + [
        {"system": DATA_CATEGORY_SYSTEM, "code": c} for c in categories
    ]


@functools.cache
def _duo() -> dict[str, dict[str, str]]:
    return schemas.duo_vocabulary()


def _duo_concept(duo: dict[str, dict[str, str]], code: str) -> dict[str, Any]:
    try:
        term = duo[code]
    except KeyError:
        raise FhirExportError(f"DUO code {code!r} is not in schemas/vocab/duo.v1.json") from None
    concept = _concept(DUO_SYSTEM, term["id"], term.get("label"))
    concept["text"] = code
    return concept


def _fhir_datetime(value: Any) -> str:
    """An RFC 3339 date-time from a scope, as FHIR dateTime in UTC ("Z")."""
    text = str(value)
    try:
        return iso_utc(datetime.fromisoformat(text.replace("z", "Z").replace("t", "T")))
    except ValueError:
        return text  # not a full date-time: let validation say what is wrong
