"""Self-produced data goes to Kanta PHR and providers only under a wellbeing-sharing consent."""

from typing import Any

import pytest

import schemas
from connectors.models import OutboxItem
from connectors.wellbeing import wellbeing_submit
from consents import services
from consents.models import LogEntry
from tests.conftest import APP_ID, PROVIDER_OID, grant, wellbeing_scope
from tests.connectors.conftest import pump

S = OutboxItem.Status
LOINC = "http://loinc.org"


def steps(value: int = 8000) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "55423-8", "display": "Steps"}]},
        "effectiveDateTime": "2026-03-01T20:00:00Z",
        "valueQuantity": {"value": value, "unit": "steps"},
    }


def weight() -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}]},
        "valueQuantity": {"value": 71.5, "unit": "kg"},
    }


def submit(citizen: Any, *resources: dict[str, Any], app: str = APP_ID) -> Any:
    return wellbeing_submit(
        subject_id=citizen.id, source_application=app, resources=list(resources)
    )


def test_invalid_resource_is_named_by_index_and_field_and_nothing_is_written(
    citizen: Any,
) -> None:
    grant(citizen, "wellbeing-sharing")
    bad = {**steps(), "valueQuantity": {"value": "many"}}
    with pytest.raises(schemas.SchemaValidationError) as caught:
        submit(citizen, steps(), bad)
    assert [e["pointer"] for e in caught.value.errors] == ["/resources/1/valueQuantity/value"]
    assert not OutboxItem.objects.exists()
    assert not LogEntry.objects.filter(event_type__startswith="decision.").exists()


def test_resource_of_unknown_kind_is_refused(citizen: Any) -> None:
    unknown = {**steps(), "code": {"coding": [{"system": LOINC, "code": "0000-0"}]}}
    with pytest.raises(schemas.SchemaValidationError) as caught:
        submit(citizen, unknown, {"resourceType": "Condition"})
    assert [e["pointer"] for e in caught.value.errors] == [
        "/resources/0/code",
        "/resources/1/resourceType",
    ]


def test_without_consent_the_data_goes_nowhere(citizen: Any) -> None:
    result = submit(citizen, steps())
    assert result.queued == 0 and result.denied == 1
    assert result.targets[0].decision.reason == "no-consent"
    assert not OutboxItem.objects.exists()


def test_permitted_data_reaches_kanta_phr_marked_with_its_source(kanta: Any, citizen: Any) -> None:
    grant(citizen, "wellbeing-sharing", scope=wellbeing_scope(targets=[{"type": "kanta-phr"}]))
    result = submit(citizen, steps(4321))
    assert result.queued == 1
    pump("kanta.phr")
    stored = [
        r
        for r in kanta.search(
            "Observation", patient=f"urn:oid:1.2.246.21|{citizen.personal_identity_code}"
        )
        if r.get("valueQuantity", {}).get("value") == 4321
    ]
    assert len(stored) == 1
    meta = stored[0]["meta"]
    assert meta["source"].endswith(f"/id/application/{APP_ID}")
    assert {"system": "http://127.0.0.1:8000/id/application", "code": APP_ID} in meta["tag"]
    assert meta["profile"][0].startswith("http://phr.kanta.fi/StructureDefinition/")


def test_only_the_permitted_categories_are_queued(kanta: Any, citizen: Any) -> None:
    grant(citizen, "wellbeing-sharing", scope=wellbeing_scope(targets=[{"type": "kanta-phr"}]))
    result = submit(citizen, steps(), weight())
    assert result.queued == 1
    payload = OutboxItem.objects.get().payload or {}
    assert [r["code"]["coding"][0]["code"] for r in payload["resources"]] == ["55423-8"]


def test_data_from_an_application_the_consent_does_not_name_is_denied(citizen: Any) -> None:
    grant(citizen, "wellbeing-sharing")
    result = submit(citizen, steps(), app="some-other-app")
    assert result.queued == 0
    assert {t.decision.reason for t in result.targets} == {"source-not-covered"}


def test_withdrawal_between_enqueue_and_send_stops_the_send(kanta: Any, citizen: Any) -> None:
    consent = grant(
        citizen, "wellbeing-sharing", scope=wellbeing_scope(targets=[{"type": "kanta-phr"}])
    )
    submit(citizen, steps(1111))
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))
    assert set(pump("kanta.phr").values()) == {S.DENIED}
    item = OutboxItem.objects.get(connector="kanta.phr")
    assert item.payload is None and "withdrawn" in item.last_error
    assert not any(
        r.get("valueQuantity", {}).get("value") == 1111
        for r in kanta.search(
            "Observation", patient=f"urn:oid:1.2.246.21|{citizen.personal_identity_code}"
        )
    )


def test_shared_data_is_pushed_to_the_providers_fhir_endpoint(
    provider_fhir: Any, citizen: Any
) -> None:
    grant(citizen, "wellbeing-sharing")  # Kanta PHR and Terveys Oy
    result = submit(citizen, steps(2468))
    targets = {t.target: t.queued for t in result.targets}
    assert targets == {"kanta-phr": 1, PROVIDER_OID: 1}
    assert set(pump("provider.fhir").values()) == {S.DONE}
    pushed = [
        r
        for r in provider_fhir.search(
            "Observation", patient=f"urn:oid:1.2.246.21|{citizen.personal_identity_code}"
        )
        if r.get("valueQuantity", {}).get("value") == 2468
    ]
    assert len(pushed) == 1
    assert LogEntry.objects.filter(event_type="flow.delivered", recipient=PROVIDER_OID).count() == 1


def test_a_provider_without_a_fhir_endpoint_gets_nothing(citizen: Any) -> None:
    grant(citizen, "wellbeing-sharing")
    result = submit(citizen, steps())
    provider = next(t for t in result.targets if t.target == PROVIDER_OID)
    assert provider.decision.permit and provider.queued == 0 and provider.note == "no-endpoint"


def test_a_code_outside_a_required_value_set_is_refused_and_nothing_is_written(
    citizen: Any,
) -> None:
    grant(citizen, "wellbeing-sharing")
    with pytest.raises(schemas.SchemaValidationError) as caught:
        submit(citizen, steps(), {**steps(), "status": "done"})
    (error,) = caught.value.errors
    assert error["pointer"] == "/resources/1/status"
    assert error["message"].startswith("Observation.status: 'done' is not in the required")
    assert "final" in error["message"] and "preliminary" in error["message"]
    assert not OutboxItem.objects.exists()
    assert not LogEntry.objects.filter(event_type__startswith="decision.").exists()


def test_a_phr_profile_claimed_for_other_data_is_refused_before_anything_is_queued(
    citizen: Any,
) -> None:
    grant(citizen, "wellbeing-sharing")
    claimed = {
        **steps(),
        "meta": {"profile": ["http://phr.kanta.fi/StructureDefinition/fiphr-sd-body-weight"]},
    }
    with pytest.raises(schemas.SchemaValidationError) as caught:
        submit(citizen, claimed)
    (error,) = caught.value.errors
    assert error["pointer"] == "/resources/0/meta/profile/0"
    assert "fiphr-sd-steps" in error["message"]
    assert not OutboxItem.objects.exists()


def test_a_queued_resource_that_breaks_a_required_binding_is_never_sent(
    kanta: Any, citizen: Any
) -> None:
    grant(citizen, "wellbeing-sharing", scope=wellbeing_scope(targets=[{"type": "kanta-phr"}]))
    submit(citizen, steps(2222), steps(3333))
    item = OutboxItem.objects.get(connector="kanta.phr")
    payload = dict(item.payload or {})
    good, queued = payload["resources"]
    payload["resources"] = [good, {**queued, "status": "done"}]  # changed in the queue
    OutboxItem.objects.filter(pk=item.pk).update(payload=payload)
    assert set(pump("kanta.phr").values()) == {S.PARKED}
    item.refresh_from_db()
    assert "Observation.status" in item.last_error
    stored = kanta.search(
        "Observation", patient=f"urn:oid:1.2.246.21|{citizen.personal_identity_code}"
    )
    assert not any(r.get("valueQuantity", {}).get("value") in (2222, 3333) for r in stored)
