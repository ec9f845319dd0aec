"""Synthetic clinical records for the demo citizens, as the Kanta stand-in serves them.

The people are those of ``demo_data`` (and of the test personas): the same birth dates and
temporary individual numbers (9xx), so the same personal identity codes. Nothing here is
about a real person.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemas.hetu import make_hetu

HETU_SYSTEM = "urn:oid:1.2.246.21"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"
CVX = "http://hl7.org/fhir/sid/cvx"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

#: (given, family, birth date, individual number, sex): as in demo_data.CITIZENS.
DEMO_PEOPLE: list[tuple[str, str, dt.date, int, str]] = [
    ("Aino", "Virtanen", dt.date(1985, 4, 12), 902, "female"),
    ("Eero", "Korhonen", dt.date(1979, 11, 3), 903, "male"),
    ("Liisa", "Mäkinen", dt.date(1980, 1, 20), 904, "female"),
    ("Onni", "Mäkinen", dt.date(2015, 6, 1), 905, "male"),
    ("Matti", "Nieminen", dt.date(1962, 8, 30), 906, "female"),
    ("Helmi", "Nieminen", dt.date(1936, 2, 14), 907, "male"),
]

_CONDITIONS = [
    ("J45.9", "Asthma, unspecified"),
    ("I10", "Essential (primary) hypertension"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("M54.5", "Low back pain"),
]
_MEDICATIONS = [
    ("R03AK06", "salmeterol and fluticasone"),
    ("C09AA05", "ramipril"),
    ("A10BA02", "metformin"),
    ("M01AE01", "ibuprofen"),
]


def patient_reference(hetu: str) -> dict[str, Any]:
    return {"identifier": {"system": HETU_SYSTEM, "value": hetu}}


def records_for(index: int) -> list[dict[str, Any]]:
    """Patient, conditions, medications, an immunisation and a lab result for one person."""
    given, family, born, individual, sex = DEMO_PEOPLE[index]
    hetu = make_hetu(born, individual)
    pid = f"demo-{individual}"
    patient = patient_reference(hetu)
    out: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{"system": HETU_SYSTEM, "value": hetu}],
            "name": [{"family": family, "given": [given]}],
            "gender": sex,
            "birthDate": born.isoformat(),
        }
    ]
    for n, (code, text) in enumerate([_CONDITIONS[index % 4], _CONDITIONS[(index + 1) % 4]]):
        out.append(
            {
                "resourceType": "Condition",
                "id": f"{pid}-condition-{n}",
                "subject": patient,
                "code": {"coding": [{"system": ICD10, "code": code, "display": text}]},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "recordedDate": "2024-05-1" + str(n),
            }
        )
        med_code, med_text = _MEDICATIONS[(index + n) % 4]
        out.append(
            {
                "resourceType": "MedicationStatement",
                "id": f"{pid}-medication-{n}",
                "status": "active",
                "subject": patient,
                "medicationCodeableConcept": {
                    "coding": [{"system": ATC, "code": med_code, "display": med_text}]
                },
                "effectivePeriod": {"start": "2024-05-1" + str(n)},
            }
        )
    out.append(
        {
            "resourceType": "Immunization",
            "id": f"{pid}-immunization-0",
            "status": "completed",
            "patient": patient,
            "vaccineCode": {"coding": [{"system": CVX, "code": "141", "display": "Influenza"}]},
            "occurrenceDateTime": "2025-10-20",
        }
    )
    out.append(
        {
            "resourceType": "Observation",
            "id": f"{pid}-lab-0",
            "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": "4548-4", "display": "HbA1c"}]},
            "subject": patient,
            "effectiveDateTime": "2025-11-02T08:00:00Z",
            "valueQuantity": {
                "value": 38 + index,
                "unit": "mmol/mol",
                "system": "http://unitsofmeasure.org",
                "code": "mmol/mol",
            },
        }
    )
    return out


def all_records() -> list[dict[str, Any]]:
    return [r for i in range(len(DEMO_PEOPLE)) for r in records_for(i)]
