"""The citizen's consent API: the whole lifecycle, bad input, and other people's consents."""

import json
from typing import Any

import pytest
from django.test import Client

from consents import keys, log, receipts, services
from consents.models import Consent, LogEntry, Mandate, Receipt
from tests.conftest import biobank_scope, grant, needs_assessment_scope, provider_sharing_scope

pytestmark = pytest.mark.usefixtures("frozen_now")

NOTICE = {"text": "Annan luvan ...", "language": "fi"}


def post(client: Client, path: str, body: Any) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, raw, content_type="application/json")


@pytest.fixture
def aino(client: Client, citizen: Any) -> Client:
    client.force_login(citizen.user)
    return client


def test_grant_list_change_withdraw_and_receipts(aino: Client, citizen: Any) -> None:
    created = post(
        aino,
        "/api/v1/me/consents",
        {
            "kind": "provider-sharing",
            "scope": provider_sharing_scope(),
            "period": {"start": "2026-03-02T09:30:00Z", "end": "2027-03-02T09:30:00Z"},
            "notice": NOTICE,
        },
    )
    assert created.status_code == 201, created.json()
    consent = created.json()
    assert consent["status"] == "active" and consent["subject"] == str(citizen.id)
    assert [c["id"] for c in aino.get("/api/v1/me/consents").json()["consents"]] == [consent["id"]]

    changed = post(
        aino,
        f"/api/v1/me/consents/{consent['id']}/change",
        {
            "scope": provider_sharing_scope(dataCategories=["conditions"]),
            "notice": NOTICE,
        },
    )
    assert changed.status_code == 201 and changed.json()["version"] == 2
    new_id = changed.json()["id"]
    withdrawn = post(aino, f"/api/v1/me/consents/{new_id}/withdraw", {"reason": "no longer"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"

    history = aino.get(f"/api/v1/me/consents/{new_id}/history").json()["entries"]
    assert [e["type"] for e in history] == [
        "consent.granted",
        "consent.superseded",
        "consent.changed",
        "consent.withdrawn",
    ]
    listed = aino.get(f"/api/v1/me/consents/{new_id}/receipts").json()["receipts"]
    assert [r["event"] for r in listed] == [
        "consent.granted",
        "consent.changed",
        "consent.withdrawn",
    ]
    download = aino.get(listed[-1]["_links"]["download"]["href"])
    assert download["Content-Type"] == "application/jose"
    payload = receipts.receipt_verify(download.content.decode(), keys.public_jwks())
    assert payload["event"] == "consent.withdrawn" and payload["consent"]["id"] == new_id


def test_second_withdrawal_gets_409_problem(aino: Client, citizen: Any) -> None:
    consent = grant(citizen, "provider-sharing")
    assert post(aino, f"/api/v1/me/consents/{consent.id}/withdraw", {}).status_code == 200
    again = post(aino, f"/api/v1/me/consents/{consent.id}/withdraw", {})
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert again.json()["code"] == "transition-forbidden"


def test_approve_a_provider_request(aino: Client, citizen: Any) -> None:
    from consents import services

    request = services.consent_request(
        subject_id=citizen.id,
        requester="1.2.246.10.1234567.10.0",
        kind="provider-sharing",
        scope=provider_sharing_scope(),
    )
    response = post(aino, f"/api/v1/me/consents/{request.id}/approve", {"notice": NOTICE})
    assert response.status_code == 200 and response.json()["status"] == "active"


def test_fhir_export_of_a_granted_consent(aino: Client, citizen: Any) -> None:
    consent = grant(citizen, "needs-assessment", scope=needs_assessment_scope())
    response = aino.get(f"/api/v1/me/consents/{consent.id}/fhir")
    assert response.status_code == 200
    body = response.json()
    assert body["resourceType"] == "Consent" and body["status"] == "active"


@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [
        ("{not json", 400, None),
        (
            {
                "kind": "provider-sharing",
                "scope": provider_sharing_scope(),
                "notice": NOTICE,
                "period": {"start": "2026-03-02T09:30:00Z"},
                "extra": 1,
            },
            422,
            "/extra",
        ),
        (
            {
                "kind": "provider-sharing",
                "scope": provider_sharing_scope(colour="red"),
                "notice": NOTICE,
                "period": {"start": "2026-03-02T09:30:00Z"},
            },
            422,
            "/scope/colour",
        ),
        (
            {
                "kind": "provider-sharing",
                "scope": provider_sharing_scope(),
                "notice": NOTICE,
                "period": {"start": "2026-03-02T09:30:00Z", "end": "2026-03-01T09:30:00Z"},
            },
            422,
            "/period/end",
        ),
        (
            {
                "kind": "biobank",
                "scope": {},
                "notice": NOTICE,
                "period": {"start": "2026-03-02T09:30:00Z"},
            },
            422,
            "/scope/biobank",
        ),
    ],
)
def test_bad_grants_name_the_field_and_write_nothing(
    aino: Client, body: Any, status: int, pointer: str | None
) -> None:
    response = post(aino, "/api/v1/me/consents", body)
    assert response.status_code == status, response.json()
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    if pointer:
        assert pointer in [e["pointer"] for e in problem["errors"]]
    else:
        assert "line 1" in problem["detail"]
    assert Consent.objects.count() == 0 and LogEntry.objects.count() == 0


def test_another_persons_consent_is_not_found(
    client: Client, citizen: Any, other_citizen: Any
) -> None:
    consent = grant(citizen, "provider-sharing")
    client.force_login(other_citizen.user)
    for path in ("", "/history", "/fhir", "/receipts"):
        assert client.get(f"/api/v1/me/consents/{consent.id}{path}").status_code == 404
    assert post(client, f"/api/v1/me/consents/{consent.id}/withdraw", {}).status_code == 404
    assert client.get("/api/v1/me/consents").json()["consents"] == []
    consent.refresh_from_db()
    assert consent.status == "active"


def test_guardian_sees_and_manages_the_childs_consents(client: Client, family: Any) -> None:
    client.force_login(family.guardian.user)
    created = post(
        client,
        "/api/v1/me/consents",
        {
            "kind": "biobank",
            "subject": str(family.child.id),
            "scope": biobank_scope(),
            "period": {"start": "2026-03-02T09:30:00Z"},
            "notice": NOTICE,
        },
    )
    assert created.status_code == 201, created.json()
    listed = client.get("/api/v1/me/consents", {"subject": str(family.child.id)}).json()
    assert [c["id"] for c in listed["consents"]] == [created.json()["id"]]


def test_an_agent_whose_mandate_covers_one_kind_sees_and_changes_only_that_kind(
    client: Client, citizen: Any, other_citizen: Any
) -> None:
    services.mandate_create(
        principal_id=other_citizen.id,
        agent_id=citizen.id,
        basis=Mandate.Basis.MANDATE,
        kinds=["needs-assessment"],
        actor=services.Actor.person(other_citizen.id),
    )
    covered = grant(other_citizen, "needs-assessment")
    not_covered = grant(other_citizen, "provider-sharing")
    client.force_login(citizen.user)

    listed = client.get("/api/v1/me/consents", {"subject": str(other_citizen.id)}).json()
    assert [c["id"] for c in listed["consents"]] == [str(covered.id)]
    for path in ("", "/history", "/fhir", "/receipts"):
        assert client.get(f"/api/v1/me/consents/{covered.id}{path}").status_code == 200
        hidden = client.get(f"/api/v1/me/consents/{not_covered.id}{path}")
        assert hidden.status_code == 404 and hidden["Content-Type"] == "application/problem+json"
    receipt = Receipt.objects.get(consent=not_covered)
    assert client.get(f"/api/v1/me/receipts/{receipt.id}.jws").status_code == 404
    log.log_integrate()  # as the integrator does after commit: entries get their leaf index
    seen = LogEntry.objects.get(consent_id=covered.id).seq
    unseen = LogEntry.objects.get(consent_id=not_covered.id).seq
    assert seen is not None and unseen is not None
    assert client.get(f"/api/v1/log/entries/{seen}").status_code == 200
    assert client.get(f"/api/v1/log/entries/{unseen}").status_code == 404

    refused = post(client, f"/api/v1/me/consents/{not_covered.id}/withdraw", {})
    assert refused.status_code == 404
    granted = post(
        client,
        "/api/v1/me/consents",
        {
            "kind": "provider-sharing",
            "subject": str(other_citizen.id),
            "scope": provider_sharing_scope(),
            "period": {"start": "2026-03-02T09:30:00Z"},
            "notice": NOTICE,
        },
    )
    assert granted.status_code == 403 and granted.json()["code"] == "no-mandate"
    withdrawn = post(client, f"/api/v1/me/consents/{covered.id}/withdraw", {})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    not_covered.refresh_from_db()
    assert not_covered.status == "active"


def test_non_guardian_cannot_grant_for_a_child(client: Client, citizen: Any, family: Any) -> None:
    client.force_login(citizen.user)
    response = post(
        client,
        "/api/v1/me/consents",
        {
            "kind": "provider-sharing",
            "subject": str(family.child.id),
            "scope": provider_sharing_scope(),
            "period": {"start": "2026-03-02T09:30:00Z"},
            "notice": NOTICE,
        },
    )
    assert response.status_code == 403 and response.json()["code"] == "no-mandate"
    assert Consent.objects.count() == 0


def test_anonymous_requests_are_refused(client: Client) -> None:
    assert client.get("/api/v1/me/consents").status_code == 403


@pytest.mark.parametrize(
    ("language", "title", "missing"),
    [
        ("fi", "Pyynnön sisältö ei kelpaa.", "notice puuttuu."),
        ("sv", "Begärans innehåll är inte giltigt.", "notice saknas."),
        ("en", "The request body is not valid.", "notice is required."),
    ],
)
def test_an_error_answer_is_wholly_in_the_language_the_request_asked_for(
    client: Client, citizen: Any, language: str, title: str, missing: str
) -> None:
    client.force_login(citizen.user)
    client.cookies["django_language"] = "fi"  # the browser's page language does not decide
    body = {"kind": "provider-sharing", "scope": provider_sharing_scope()}
    answer = client.post(
        "/api/v1/me/consents",
        json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert answer.status_code == 422
    assert answer["Content-Language"] == language
    problem = answer.json()
    assert problem["title"] == title
    assert missing in [e["message"] for e in problem["errors"]]


@pytest.mark.parametrize(
    ("language", "title"),
    [("fi", "Ei sallittu."), ("sv", "Inte tillåtet."), ("en", "Not permitted.")],
)
def test_an_unauthenticated_answer_is_in_one_language(
    client: Client, language: str, title: str
) -> None:
    answer = client.get("/api/v1/me/consents", HTTP_ACCEPT_LANGUAGE=language)
    problem = answer.json()
    assert problem["title"] == title
    english = "Authentication credentials were not provided."
    assert (problem["detail"] == english) == (language == "en")


def test_without_accept_language_an_api_error_is_english(client: Client) -> None:
    answer = client.get("/api/v1/me/consents")
    assert answer["Content-Language"] == "en"
    assert answer.json()["title"] == "Not permitted."
