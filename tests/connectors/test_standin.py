"""The Kanta stand-in: a FHIR R4 server in its own process that validates what it receives."""

from typing import Any

import pytest
import requests

from connectors.kanta.standin import validation_issues
from connectors.kanta.synthetic import all_records

AINO = "urn:oid:1.2.246.21|120485-9020"


def observation(**overrides: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "meta": {"profile": ["http://phr.kanta.fi/StructureDefinition/fiphr-sd-steps"]},
        "code": {"coding": [{"system": "http://loinc.org", "code": "55423-8"}]},
        "subject": {"identifier": {"system": "urn:oid:1.2.246.21", "value": "120485-9020"}},
        "valueQuantity": {"value": 8000, "unit": "steps"},
        **overrides,
    }


def test_synthetic_records_are_valid_fhir_r4() -> None:
    records = all_records()
    assert len(records) > 30
    assert all(validation_issues(r) == [] for r in records if r["resourceType"] != "Observation")


def test_standin_answers_a_search_by_personal_identity_code_with_a_searchset(kanta: Any) -> None:
    found = requests.get(f"{kanta.url}/Condition", params={"patient": AINO}, timeout=5).json()
    assert found["resourceType"] == "Bundle" and found["type"] == "searchset"
    assert found["total"] == 2
    codes = {e["resource"]["code"]["coding"][0]["code"] for e in found["entry"]}
    assert codes == {"J45.9", "I10"}


def test_standin_filters_a_search_by_category(kanta: Any) -> None:
    labs = kanta.search("Observation", patient=AINO, category="laboratory")
    assert [r["code"]["coding"][0]["code"] for r in labs] == ["4548-4"]
    assert kanta.search("Observation", patient=AINO, category="vital-signs") == []


def test_standin_rejects_an_invalid_resource_with_an_operation_outcome(kanta: Any) -> None:
    bad = observation(valueQuantity={"value": "lots"})
    response = requests.post(f"{kanta.url}/Observation", json=bad, timeout=5)
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["Observation.valueQuantity.value"]


def test_standin_rejects_phr_content_without_a_phr_profile(kanta: Any) -> None:
    response = requests.post(f"{kanta.url}/Observation", json=observation(meta={}), timeout=5)
    assert response.status_code == 422
    assert "meta.profile" in response.json()["issue"][0]["diagnostics"]


def test_standin_stores_a_conditional_create_once(kanta: Any) -> None:
    headers = {"If-None-Exist": "identifier=urn:test|once-1"}
    body = observation(identifier=[{"system": "urn:test", "value": "once-1"}])
    first = requests.post(f"{kanta.url}/Observation", json=body, headers=headers, timeout=5)
    again = requests.post(f"{kanta.url}/Observation", json=body, headers=headers, timeout=5)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    stats = kanta.stats()
    assert stats["received"]["urn:test|once-1"] == 2
    assert stats["storedByIdentifier"]["urn:test|once-1"] == 1


@pytest.mark.parametrize("mode", ["500", "garbage"])
def test_standin_fails_as_told_and_then_recovers(kanta: Any, mode: str) -> None:
    kanta.fault(mode, count=1)
    failed = requests.get(f"{kanta.url}/Patient", params={"identifier": AINO}, timeout=5)
    recovered = requests.get(f"{kanta.url}/Patient", params={"identifier": AINO}, timeout=5)
    if mode == "500":
        assert failed.status_code == 500
    else:
        with pytest.raises(ValueError):
            failed.json()
    assert recovered.json()["total"] == 1


def test_standin_times_out_as_told(kanta: Any) -> None:
    kanta.fault("timeout", count=1, seconds=2)
    with pytest.raises(requests.Timeout):
        requests.get(f"{kanta.url}/Patient", params={"identifier": AINO}, timeout=0.5)


def test_standin_has_records_for_every_demo_citizen() -> None:
    from mydata_operator.identity.management.commands.demo_data import CITIZENS
    from schemas.hetu import make_hetu

    patients = {
        r["identifier"][0]["value"] for r in all_records() if r["resourceType"] == "Patient"
    }
    assert patients == {make_hetu(born, n) for _, _, _, born, n in CITIZENS}


def test_standin_rejects_a_code_outside_a_required_value_set(kanta: Any) -> None:
    response = requests.post(f"{kanta.url}/Observation", json=observation(status="done"), timeout=5)
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Observation.status"]
    assert "observation-status" in issue["diagnostics"]
