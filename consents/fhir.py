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

Each kind builds its own ``provision`` (``ConsentKind.fhir_provision`` in ``consents/kinds/``)
from the parts in ``consents.fhir_parts``; this module assembles the rest of the resource.

Not exported (no FHIR home; the Tahto scope stays the source of truth): biobank sample types,
existing samples, register-linking sources and recontact; wellbeing source devices.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.utils import translation
from fhir.resources.R4B.consent import Consent as FhirConsent
from pydantic import ValidationError

import schemas

from .fhir_parts import (
    ACT_REASON_SYSTEM,
    CONSENT_ACTION_SYSTEM,
    CONSENT_KIND_SYSTEM,
    CONSENT_SCOPE_SYSTEM,
    DUO_SYSTEM,
    EXT_CONTACT_CHANNEL,
    EXT_FREQUENCY_PER_DAY,
    EXT_MORATORIUM_UNTIL,
    EXT_PROVIDER_KIND,
    EXT_TARGET_TYPE,
    EXTENSION_BASE,
    ICD10_SYSTEM,
    LIFE_AREA_SYSTEM,
    LOINC,
    PARTICIPATION_TYPE_SYSTEM,
    PURPOSE_OF_USE,
    PURPOSE_SYSTEM,
    RESEARCH_PROJECT_SYSTEM,
    RESOURCE_TYPE_SYSTEM,
    TAHTO_SYSTEM_BASE,
    URI_SYSTEM,
    FhirExportError,
    concept,
    fhir_datetime,
    oid_identifier,
)
from .fhir_terminology import DATA_CATEGORY_SYSTEM, FhirConformanceError, fhir_check
from .kinds import ConsentKind, kind_spec
from .models import Consent
from .states import Status
from .times import iso_utc

__all__ = [
    "ACT_REASON_SYSTEM",
    "CONSENT_ACTION_SYSTEM",
    "CONSENT_KIND_SYSTEM",
    "CONSENT_SCOPE_SYSTEM",
    "DATA_CATEGORY_SYSTEM",
    "DUO_SYSTEM",
    "EXTENSION_BASE",
    "EXT_CONTACT_CHANNEL",
    "EXT_FREQUENCY_PER_DAY",
    "EXT_MORATORIUM_UNTIL",
    "EXT_PROVIDER_KIND",
    "EXT_TARGET_TYPE",
    "ICD10_SYSTEM",
    "KANTA_PHR_CONSENT_CATEGORY_CODE",
    "KANTA_PHR_CONSENT_CATEGORY_SYSTEM",
    "LIFE_AREA_SYSTEM",
    "LOINC",
    "PARTICIPATION_TYPE_SYSTEM",
    "PURPOSE_OF_USE",
    "PURPOSE_SYSTEM",
    "RESEARCH_PROJECT_SYSTEM",
    "RESOURCE_TYPES_BY_CATEGORY",
    "RESOURCE_TYPE_SYSTEM",
    "STATUS_TO_FHIR",
    "TAHTO_SYSTEM_BASE",
    "URI_SYSTEM",
    "FhirExportError",
    "consent_to_fhir",
    "consent_to_fhir_resource",
]

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
    kind = kind_spec(consent.kind)
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
        "scope": concept(CONSENT_SCOPE_SYSTEM, *kind.fhir_scope),
        "category": _categories(kind),
        "patient": patient,
        "dateTime": iso_utc(consent.created_at),
        "organization": [
            {
                "type": "Organization",
                "identifier": oid_identifier(settings.TAHTO_OPERATOR_ID),
                "display": settings.TAHTO_OPERATOR_NAME,
            }
        ],
        "policy": [{"uri": _policy_uri(consent, kind)}],
        "provision": _provision(consent, kind, scope),
    }
    if performer is not None:
        resource["performer"] = [performer]
    return resource


def _categories(kind: ConsentKind) -> list[dict[str, Any]]:
    with translation.override(None):  # the English source label, whatever the request's language
        display = str(kind.label)
    categories = [
        concept(LOINC, "59284-0", "Patient Consent"),
        concept(CONSENT_KIND_SYSTEM, kind.code, display),
    ]
    if kind.kanta_phr and KANTA_PHR_CONSENT_CATEGORY_CODE:
        categories.append(
            concept(KANTA_PHR_CONSENT_CATEGORY_SYSTEM, KANTA_PHR_CONSENT_CATEGORY_CODE)
        )
    return categories


def _policy_uri(consent: Consent, kind: ConsentKind) -> str:
    """The $id of the JSON Schema the scope follows."""
    name = consent.schema or kind.schema
    return f"{schemas.BASE_URI}{name.removesuffix('.json')}.json"


def _provision(consent: Consent, kind: ConsentKind, scope: dict[str, Any]) -> dict[str, Any]:
    provision: dict[str, Any] = {"type": consent.provision}
    period = {"start": iso_utc(consent.valid_from)}
    if consent.valid_until is not None:
        period["end"] = iso_utc(consent.valid_until)
    provision["period"] = period

    kind.fhir_provision(provision, scope, consent.provision)

    categories = [c for c in scope.get("dataCategories") or [] if isinstance(c, str)]
    if categories:
        provision["class"] = _classes(categories)
    data_period = scope.get("dataPeriod")
    if isinstance(data_period, dict) and data_period:
        provision["dataPeriod"] = {
            k: fhir_datetime(v) for k, v in data_period.items() if k in ("start", "end")
        }
    return {k: v for k, v in provision.items() if v not in (None, [], {})}


# --------------------------------------------------------------------------- pieces


def _classes(categories: list[str]) -> list[dict[str, str]]:
    types: list[str] = []
    for category in categories:
        for resource_type in RESOURCE_TYPES_BY_CATEGORY.get(category, ()):
            if resource_type not in types:
                types.append(resource_type)
    return [{"system": RESOURCE_TYPE_SYSTEM, "code": t} for t in types] + [
        {"system": DATA_CATEGORY_SYSTEM, "code": c} for c in categories
    ]
