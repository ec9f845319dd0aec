"""A research request gets only the donors whose biobank consent matches its DUO codes."""

import json
from typing import Any

from connectors.biobank import donor_pseudonym, research_request
from consents import services
from consents.events import EventType
from consents.models import LogEntry
from consents.policy import Recipient
from tests.conftest import BIOBANK_OID, biobank_scope, grant

BIOBANK = Recipient(organisation=BIOBANK_OID)


def request(**overrides: Any) -> dict[str, Any]:
    return {
        "biobank": BIOBANK_OID,
        "purpose": {"code": "HMB"},
        "declarations": ["NPU"],
        "dataCategories": ["samples", "conditions"],
        **overrides,
    }


def test_only_matching_donors_are_released_pseudonymously(citizen: Any, other_citizen: Any) -> None:
    grant(citizen, "biobank")
    result = research_request(
        biobank=BIOBANK, request=request(), donors=[citizen.id, other_citizen.id]
    )
    assert result.requested == 2 and result.matched == 1
    donor = result.released[0]
    assert donor.pseudonym == donor_pseudonym(biobank=BIOBANK_OID, subject_id=citizen.id)
    assert str(citizen.id) not in donor.pseudonym
    assert donor.categories == ("conditions", "samples")


def test_a_request_without_the_required_declaration_gets_nobody(citizen: Any) -> None:
    grant(citizen, "biobank")  # requires NPU
    result = research_request(
        biobank=BIOBANK, request=request(declarations=[]), donors=[citizen.id]
    )
    assert result.matched == 0


def test_ancestry_research_is_not_covered_by_a_health_research_consent(citizen: Any) -> None:
    grant(citizen, "biobank")
    result = research_request(
        biobank=BIOBANK, request=request(purpose={"code": "POA"}), donors=[citizen.id]
    )
    assert result.matched == 0


def test_a_withdrawal_stops_all_later_use(citizen: Any) -> None:
    consent = grant(citizen, "biobank")
    assert research_request(biobank=BIOBANK, request=request(), donors=[citizen.id]).matched == 1
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))
    assert research_request(biobank=BIOBANK, request=request(), donors=[citizen.id]).matched == 0


def test_pseudonyms_differ_between_biobanks(citizen: Any) -> None:
    assert donor_pseudonym(biobank=BIOBANK_OID, subject_id=citizen.id) != donor_pseudonym(
        biobank="1.2.246.10.1.1.1", subject_id=citizen.id
    )


def test_a_refusal_is_logged_against_the_active_consent_not_an_older_withdrawn_one(
    citizen: Any,
) -> None:
    older = grant(citizen, "biobank", scope=biobank_scope(permission={"code": "GRU"}))
    services.consent_withdraw(consent=older, actor=services.Actor.person(citizen.id))
    active = grant(citizen, "biobank")  # HMB: does not cover ancestry research
    result = research_request(
        biobank=BIOBANK, request=request(purpose={"code": "POA"}), donors=[citizen.id]
    )
    assert result.matched == 0
    entry = LogEntry.objects.filter(event_type=EventType.DECISION_DENY).latest("id")
    assert entry.consent_id == active.id
    decision = json.loads(entry.entry)["decision"]
    assert decision["reason"] == "research-use-not-covered"
    assert decision["detail"] == "duo.permission-not-covered"
