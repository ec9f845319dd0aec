"""Provider queries are answered from Kanta, filtered by the consent the token is bound to."""

from typing import Any

import pytest

from connectors.base import ConnectorError
from connectors.kanta.connector import provider_query
from consents import services
from consents.models import LogEntry
from consents.policy import Recipient
from tests.conftest import PROVIDER_OID, grant

TERVEYS = Recipient(organisation=PROVIDER_OID)


def query(citizen: Any, consent: Any, types: list[str] | None = None, **kw: Any) -> Any:
    return provider_query(
        subject_id=citizen.id,
        patient_identifier=kw.get("identifier", citizen.personal_identity_code),
        recipient=kw.get("recipient", TERVEYS),
        consent_lineage=consent.lineage,
        purpose="care",
        resource_types=types,
        requested_by="terveys-oy",
    )


def types_in(bundle: dict[str, Any]) -> set[str]:
    return {e["resource"]["resourceType"] for e in bundle["entry"]}


def test_permitted_query_returns_only_the_permitted_categories(kanta: Any, citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")  # conditions and medications
    result = query(citizen, consent)
    assert result.decision.permit
    assert types_in(result.bundle) == {"Condition", "MedicationStatement"}
    assert result.bundle["type"] == "searchset" and result.bundle["total"] == 4


def test_query_for_some_types_returns_only_those(kanta: Any, citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    result = query(citizen, consent, ["Condition", "Immunization"])
    assert types_in(result.bundle) == {"Condition"}


def test_query_for_types_the_consent_does_not_cover_is_denied(kanta: Any, citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    result = query(citizen, consent, ["Immunization"])
    assert not result.decision.permit and result.bundle is None
    assert result.decision.reason == "categories-not-covered"


def test_query_under_a_withdrawn_consent_is_denied(kanta: Any, citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))
    result = query(citizen, consent)
    assert result.bundle is None and result.decision.reason == "withdrawn"


def test_query_by_another_provider_is_denied(kanta: Any, citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    result = query(citizen, consent, recipient=Recipient(organisation="1.2.246.10.1.1.1"))
    assert result.bundle is None


def test_query_naming_another_person_is_refused(
    kanta: Any, citizen: Any, other_citizen: Any
) -> None:
    consent = grant(citizen, "provider-sharing")
    with pytest.raises(ConnectorError) as caught:
        query(citizen, consent, identifier=other_citizen.personal_identity_code)
    assert caught.value.permanent
    assert not LogEntry.objects.filter(event_type="decision.permit").exists()


def test_kanta_failure_is_a_temporary_error_and_is_logged(kanta: Any, citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    kanta.fault("500", count=1)
    with pytest.raises(ConnectorError) as caught:
        query(citizen, consent)
    assert not caught.value.permanent
    assert LogEntry.objects.filter(event_type="flow.failed", recipient=PROVIDER_OID).count() == 1


def test_a_delivered_query_is_logged_with_counts_only(kanta: Any, citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    query(citizen, consent)
    entry = LogEntry.objects.get(event_type="flow.delivered")
    assert '"Condition":2' in entry.entry
    assert "Asthma" not in entry.entry
