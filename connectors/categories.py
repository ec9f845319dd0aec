"""Which Tahto data category a FHIR resource belongs to, so flows carry only permitted ones.

The consent names data categories (``consents.fhir.RESOURCE_TYPES_BY_CATEGORY`` maps them to
resource types); several categories travel in the same type (steps and blood pressure are
both Observations), so a resource is placed by, in order: an explicit data-category tag in
``meta.tag``, its LOINC code (self-produced measurements), and its type (clinical data).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from consents import fhir_terminology
from consents.fhir import DATA_CATEGORY_SYSTEM, RESOURCE_TYPES_BY_CATEGORY
from consents.policy import WELLBEING_CATEGORIES

LOINC = "http://loinc.org"

#: LOINC codes of self-produced measurements -> wellbeing category.
LOINC_CATEGORY = {
    "85354-9": "blood-pressure",  # blood pressure panel
    "55284-4": "blood-pressure",  # blood pressure systolic and diastolic
    "8480-6": "blood-pressure",
    "8462-4": "blood-pressure",
    "2339-0": "blood-glucose",
    "15074-8": "blood-glucose",
    "29463-7": "body-weight",
    "3141-9": "body-weight",
    "55423-8": "steps",  # number of steps in unspecified time pedometer
    "41950-7": "steps",  # number of steps in 24 hours, measured
    "8867-4": "heart-rate",
    "93832-4": "sleep",  # sleep duration
}

#: Clinical resource type -> its category, when no tag or code places it elsewhere.
TYPE_CATEGORY = {
    "Patient": "demographics",
    "Condition": "conditions",
    "MedicationStatement": "medications",
    "Immunization": "immunizations",
    "Observation": "observations",
    "QuestionnaireResponse": "questionnaires",
}

#: Kanta PHR profile for each self-produced category: one definition, in the conformance check.
PHR_PROFILE_BASE = fhir_terminology.PHR_PROFILE_BASE


def resource_category(resource: dict[str, Any]) -> str | None:
    """The Tahto data category of a resource, or None if it has none (e.g. a Consent)."""
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if tag.get("system") == DATA_CATEGORY_SYSTEM and tag.get("code"):
            return str(tag["code"])
    if resource.get("resourceType") == "Observation":
        for coding in (resource.get("code") or {}).get("coding") or []:
            if coding.get("system") == LOINC and coding.get("code") in LOINC_CATEGORY:
                return LOINC_CATEGORY[coding["code"]]
    return TYPE_CATEGORY.get(str(resource.get("resourceType")))


def categories_for_types(resource_types: Iterable[str] | None) -> frozenset[str]:
    """Every category whose data travels in one of the types (all categories for None)."""
    if resource_types is None:
        return frozenset(RESOURCE_TYPES_BY_CATEGORY)
    wanted = set(resource_types)
    return frozenset(c for c, types in RESOURCE_TYPES_BY_CATEGORY.items() if wanted & set(types))


def types_for_categories(categories: Iterable[str]) -> list[str]:
    out: list[str] = []
    for category in sorted(categories):
        for resource_type in RESOURCE_TYPES_BY_CATEGORY.get(category, ()):
            if resource_type not in out:
                out.append(resource_type)
    return out


def is_wellbeing(category: str | None) -> bool:
    return category in WELLBEING_CATEGORIES
