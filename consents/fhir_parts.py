"""The FHIR R4 building blocks of a Consent: code systems, extensions and small constructors.

`consents.fhir` assembles the resource; each consent kind (`consents.kinds`) builds its own
``provision`` from these parts. Kept apart from `consents.fhir` so that the kinds, which the
export asks, do not import the export.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import schemas

from .times import iso_utc

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


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def oid_identifier(oid: str) -> dict[str, str]:
    return {"system": URI_SYSTEM, "value": f"urn:oid:{oid}"}


def role(code: str) -> dict[str, Any]:
    return concept(PARTICIPATION_TYPE_SYSTEM, code, _ROLE_DISPLAY[code])


def actor(role_code: str, party: Mapping[str, Any]) -> dict[str, Any]:
    """One organisation by OID, or every organisation of a kind by display and extension."""
    reference: dict[str, Any] = {"type": "Organization"}
    if party.get("organisation"):
        reference["identifier"] = oid_identifier(str(party["organisation"]))
        if party.get("name"):
            reference["display"] = str(party["name"])
    elif party.get("providerKind"):
        kind = str(party["providerKind"])
        reference["display"] = f"Any organisation of kind {kind}"
        reference["extension"] = [{"url": EXT_PROVIDER_KIND, "valueCode": kind}]
    else:
        raise FhirExportError(f"a party names neither organisation nor providerKind: {party!r}")
    return {"role": role(role_code), "reference": reference}


def actions(codes: list[str]) -> list[dict[str, Any]]:
    return [concept(CONSENT_ACTION_SYSTEM, c, _ACTION_DISPLAY[c]) for c in codes]


def purposes(codes: list[str]) -> list[dict[str, str]]:
    codings: list[dict[str, str]] = []
    for purpose in codes:
        for code, display in PURPOSE_OF_USE[purpose]:
            coding = {"system": ACT_REASON_SYSTEM, "code": code, "display": display}
            if coding not in codings:
                codings.append(coding)
    codings.extend({"system": PURPOSE_SYSTEM, "code": p} for p in codes)
    return codings


@functools.cache
def _duo() -> dict[str, dict[str, str]]:
    return schemas.duo_vocabulary()


def duo_concept(code: str) -> dict[str, Any]:
    try:
        term = _duo()[code]
    except KeyError:
        raise FhirExportError(f"DUO code {code!r} is not in schemas/vocab/duo.v1.json") from None
    result = concept(DUO_SYSTEM, term["id"], term.get("label"))
    result["text"] = code
    return result


def fhir_datetime(value: Any) -> str:
    """An RFC 3339 date-time from a scope, as FHIR dateTime in UTC ("Z")."""
    text = str(value)
    try:
        return iso_utc(datetime.fromisoformat(text.replace("z", "Z").replace("t", "T")))
    except ValueError:
        return text  # not a full date-time: let validation say what is wrong
