"""Searching the log: filters, field errors, keyset pagination, drill-down, audit entries."""

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from consents import log as consent_log
from consents.events import EventType
from consents.models import LogEntry
from mydata_operator.identity.models import Person
from tests.conftest import PROVIDER_OID

pytestmark = pytest.mark.usefixtures("frozen_now")


def api(client: Client, **params: Any) -> Any:
    response = client.get("/regulator/api/entries", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_search_by_personal_identity_code_finds_only_that_subjects_entries(
    regulator_client: Client, populated: int, citizen: Person
) -> None:
    items = api(regulator_client, subject=citizen.personal_identity_code, limit=200)["items"]
    assert items
    assert {i["subject_id"] for i in items} == {str(citizen.id)}
    expected = LogEntry.objects.filter(subject_id=citizen.id).count()
    assert len(items) == expected


def test_invalid_personal_identity_code_is_a_field_error_on_the_page(
    regulator_client: Client, populated: int
) -> None:
    response = regulator_client.get("/regulator/", {"subject": "120485-9021"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Not a valid personal identity code." in text
    assert 'aria-invalid="true"' in text


def test_the_forms_example_identity_code_is_one_the_form_accepts(
    regulator_client: Client, populated: int
) -> None:
    from mydata_operator.regulator.filters import EXAMPLE_HETU, LogFilterForm
    from schemas.hetu import parse_hetu

    page = regulator_client.get("/regulator/").content.decode()
    assert EXAMPLE_HETU in page
    parse_hetu(EXAMPLE_HETU)  # raises if the example is not a valid code
    form = LogFilterForm({"subject": EXAMPLE_HETU})
    # Valid as a code; in this test database nobody has it, so only "unknown" may be said.
    form.is_valid()
    assert [e.code for e in form.errors.as_data().get("subject", [])] in ([], ["unknown-subject"])


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fi", "Henkilötunnus ei kelpaa."),
        ("sv", "Personbeteckningen är inte giltig."),
        ("en", "Not a valid personal identity code."),
    ],
)
def test_identity_code_error_is_in_the_pages_language(
    regulator_client: Client, populated: int, language: str, message: str
) -> None:
    regulator_client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    response = regulator_client.get("/regulator/", {"subject": "120485-9021"})
    text = response.content.decode()
    assert message in text
    assert "120485-9020" in text  # the example in the message is a valid code


def test_invalid_personal_identity_code_is_a_problem_naming_the_parameter(
    regulator_client: Client, populated: int
) -> None:
    response = regulator_client.get("/regulator/api/entries", {"subject": "311399-1234"})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors[0]["pointer"] == "/subject"
    assert "personal identity code" in errors[0]["message"]


def test_unknown_person_is_a_field_error_not_an_empty_result(
    regulator_client: Client, populated: int
) -> None:
    response = regulator_client.get("/regulator/api/entries", {"subject": "010101A902T"})
    assert response.status_code == 422
    assert "No person" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"provider": "not an oid"}, "/provider"),
        ({"kind": "tarot"}, "/kind"),
        ({"event": "consent.eaten"}, "/event"),
        ({"outcome": "maybe"}, "/outcome"),
        ({"date_from": "2026-13-01"}, "/date_from"),
        ({"date_from": "1900-01-01"}, "/date_from"),
        ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "/date_to"),
        ({"consent": "123"}, "/consent"),
        ({"before": "-1"}, "/cursor"),
        ({"limit": "100000"}, "/cursor"),
    ],
)
def test_malformed_filter_is_a_clear_error_naming_the_field(
    regulator_client: Client, populated: int, params: dict[str, str], pointer: str
) -> None:
    response = regulator_client.get("/regulator/api/entries", params)
    assert response.status_code == 422, response.content
    assert pointer in [e["pointer"] for e in response.json()["errors"]]


def test_filters_by_provider_event_and_outcome_select_the_decisions(
    regulator_client: Client, populated: int
) -> None:
    items = api(
        regulator_client,
        provider=PROVIDER_OID,
        event=["decision.permit", "decision.deny"],
        outcome="deny",
    )["items"]
    assert len(items) == 1
    assert items[0]["event_type"] == "decision.deny"
    assert items[0]["recipient"] == PROVIDER_OID


def test_filters_by_kind_purpose_and_time_range(regulator_client: Client, populated: int) -> None:
    assert {i["kind"] for i in api(regulator_client, kind="biobank")["items"]} == {"biobank"}
    assert {i["purpose"] for i in api(regulator_client, purpose="care")["items"]} == {"care"}
    assert api(regulator_client, date_from="2026-03-02", date_to="2026-03-02")["items"]
    assert api(regulator_client, date_from="2026-03-03")["items"] == []


def test_keyset_pagination_visits_every_entry_once_newest_first(
    regulator_client: Client, populated: int
) -> None:
    seen: list[int] = []
    url: str | None = "/regulator/api/entries?limit=3"
    while url:
        body = regulator_client.get(url).json()
        seen += [i["seq"] for i in body["items"]]
        url = body["next"]
    expected = list(
        LogEntry.objects.exclude(event_type=EventType.AUDIT_QUERY)
        .filter(leaf__seq__lt=populated)
        .order_by("-leaf__seq")
        .values_list("leaf__seq", flat=True)
    )
    assert seen == expected


def test_previous_link_leads_back_to_the_newer_page(
    regulator_client: Client, populated: int
) -> None:
    first = regulator_client.get("/regulator/api/entries?limit=3").json()
    second = regulator_client.get(first["next"]).json()
    back = regulator_client.get(second["previous"]).json()
    assert [i["seq"] for i in back["items"]] == [i["seq"] for i in first["items"]]


def test_a_page_query_neither_counts_the_table_nor_skips_with_offset(
    regulator_client: Client, populated: int
) -> None:
    with CaptureQueriesContext(connection) as queries:
        regulator_client.get("/regulator/?before=10&limit=3")
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql
    assert "COUNT(" not in sql


def test_every_search_is_logged_with_its_filter_and_never_the_code_or_result(
    regulator_client: Client, populated: int, citizen: Person, regulator: Any
) -> None:
    regulator_client.get("/regulator/", {"subject": citizen.personal_identity_code})
    audit = LogEntry.objects.filter(event_type=EventType.AUDIT_QUERY).latest("leaf__seq")
    body = json.loads(audit.entry)
    assert body["regulator"] == {"user": regulator.user_id, "organisation": "Valvira"}
    assert body["action"] == "search"
    assert body["query"]["subject"] == str(citizen.id)
    assert citizen.personal_identity_code not in audit.entry
    assert "items" not in body and "result" not in body


def test_audit_entries_are_hidden_unless_asked_for(
    regulator_client: Client, populated: int
) -> None:
    api(regulator_client)
    consent_log.log_integrate()  # the audit entry of that search is now in the tree
    assert "audit.query" not in {i["event_type"] for i in api(regulator_client)["items"]}
    audit = api(regulator_client, event="audit.query")["items"]
    assert audit and {i["event_type"] for i in audit} == {"audit.query"}


def test_drill_down_from_a_disclosure_to_the_consent_that_permitted_it(
    regulator_client: Client, populated: int
) -> None:
    permit = LogEntry.objects.get(event_type=EventType.DECISION_PERMIT)
    detail = regulator_client.get(f"/regulator/api/entries/{permit.seq}").json()
    assert detail["verified"] is True
    decided = detail["decided_by"]
    assert decided["consent_lineage"] == str(permit.consent_lineage)
    assert decided["consent_state"] == "consent.granted"
    history = regulator_client.get(decided["history"]).json()
    assert [v["version"] for v in history["versions"]] == [1]
    assert permit.seq in [d["seq"] for d in history["decisions"]]
    assert [e["event_type"] for e in history["events"]] == ["consent.granted"]


def test_consent_history_page_shows_every_version_after_a_change(
    regulator_client: Client, populated: int, citizen: Person
) -> None:
    from consents import services
    from consents.models import Consent
    from tests.conftest import provider_sharing_scope

    consent = Consent.objects.get(subject_id=citizen.id, kind="provider-sharing")
    services.consent_change(
        consent=consent,
        actor=services.Actor.person(citizen.id),
        scope=provider_sharing_scope(dataCategories=["conditions"]),
        notice_text="Changed notice.",
    )
    consent_log.log_integrate()
    response = regulator_client.get(f"/regulator/consents/{consent.lineage}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "v1" in text and "v2" in text
    assert "consent.superseded" in text and "consent.changed" in text


def test_entry_page_of_a_decision_links_to_the_consent_history(
    regulator_client: Client, populated: int
) -> None:
    permit = LogEntry.objects.get(event_type=EventType.DECISION_PERMIT)
    text = regulator_client.get(f"/regulator/entries/{permit.seq}/").content.decode()
    assert f"/regulator/consents/{permit.consent_lineage}/" in text
    assert "Verified" in text


def test_unknown_entry_and_consent_are_not_found(regulator_client: Client, populated: int) -> None:
    assert regulator_client.get("/regulator/entries/999999/").status_code == 404
    assert (
        regulator_client.get(
            "/regulator/api/consents/00000000-0000-0000-0000-000000000000"
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "url",
    [
        "/regulator/entries/99999999999999999999/",
        "/regulator/api/entries/99999999999999999999",
        "/regulator/api/tree-heads/99999999999999999999",
    ],
)
def test_numbers_beyond_the_databases_range_are_not_found(
    regulator_client: Client, populated: int, url: str
) -> None:
    assert regulator_client.get(url).status_code == 404


@pytest.mark.parametrize("raw", ["99999999999999999999", "9223372036854775808", "١٢"])
def test_cursor_and_tree_size_beyond_range_are_clear_errors(
    regulator_client: Client, populated: int, raw: str
) -> None:
    assert regulator_client.get("/regulator/api/entries", {"before": raw}).status_code == 422
    response = regulator_client.get("/regulator/export/entries.jsonl", {"tree_size": raw})
    assert response.status_code == 400


def test_drill_down_from_a_delivery_to_its_decision_and_consent(
    regulator_client: Client, citizen: Person, provider: Any
) -> None:
    from django.utils import timezone

    from connectors.base import Connector, Delivery
    from consents.policy import DecisionRequest, Flow, Recipient, decide_and_log
    from tests.conftest import grant

    consent = grant(citizen, "provider-sharing")
    decision = decide_and_log(
        DecisionRequest(
            subject_id=citizen.id,
            flow=Flow.PROVIDER_ACCESS,
            recipient=Recipient(organisation=provider.organisation_id),
            at=timezone.now(),
            purpose="care",
            data_categories=frozenset({"conditions"}),
        )
    )
    delivered = Connector().record_delivered(
        subject_id=citizen.id, decision=decision, delivery=Delivery(provider.organisation_id)
    )
    consent_log.log_integrate()
    delivered = LogEntry.objects.get(id=delivered.id)
    assert decision.log_entry_id is not None
    decision_seq = LogEntry.objects.get(id=decision.log_entry_id).seq
    assert delivered.seq is not None and decision_seq is not None
    detail = regulator_client.get(f"/regulator/api/entries/{delivered.seq}").json()
    assert detail["decided_by"]["decision_seq"] == decision_seq
    assert detail["decided_by"]["consent_lineage"] == str(consent.lineage)
    assert detail["decided_by"]["consent_version"] == 1
    page = regulator_client.get(f"/regulator/entries/{delivered.seq}/").content.decode()
    assert f"/regulator/entries/{decision_seq}/" in page


def test_a_request_for_someone_not_yet_known_is_found_by_their_code(
    regulator_client: Client, populated: int
) -> None:
    from datetime import UTC, datetime, timedelta

    from consents import services
    from mydata_operator.identity.selectors import subject_id_for_code
    from tests.conftest import provider_sharing_scope

    code = "010101A902T"  # no person has it
    services.consent_request(
        subject_id=subject_id_for_code(code),
        requester=PROVIDER_OID,
        kind="provider-sharing",
        scope=provider_sharing_scope(),
        valid_until=datetime.now(UTC) + timedelta(days=30),
    )
    consent_log.log_integrate()
    response = regulator_client.get("/regulator/api/entries", {"subject": code})
    assert response.status_code == 200, response.content
    assert [i["event_type"] for i in response.json()["items"]] == ["consent.requested"]
    assert not Person.objects.filter(personal_identity_code=code).exists()
