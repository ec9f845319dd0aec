"""Step-up holds on the citizen API as on the dashboard: after the window, no consent changes
until the person confirms it is them again; the refusal says so and where, and logs nothing."""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from consents import services
from consents.models import Consent, LogEntry, Receipt
from mydata_operator.security.stepup import SESSION_KEY, stepup_required
from tests.conftest import PROVIDER_OID, grant, provider_sharing_scope

pytestmark = pytest.mark.usefixtures("frozen_now")

NOTICE = {"text": "Annan luvan ...", "language": "fi"}
LATER = timedelta(minutes=6)  # past the 5-minute window


def post(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def aino(client: Client, citizen: Any) -> Client:
    client.force_login(citizen.user)  # signing in is a fresh proof
    return client


def requested(citizen: Any, now: datetime) -> Consent:
    return services.consent_request(
        subject_id=citizen.id,
        requester=PROVIDER_OID,
        kind="provider-sharing",
        scope=provider_sharing_scope(),
        valid_until=now + timedelta(days=30),
    )


def paused(citizen: Any, now: datetime) -> Consent:
    consent = grant(citizen, "provider-sharing")
    return services.consent_pause(
        consent=consent, actor=services.Actor.person(citizen.id), reason=""
    )


#: Every changing call of the citizen API: (the consent it needs, path, body).
CHANGES: dict[str, tuple[Callable[[Any, datetime], Consent | None], str, dict[str, Any]]] = {
    "pause": (lambda c, n: grant(c, "provider-sharing"), "{id}/pause", {}),
    "resume": (paused, "{id}/resume", {}),
    "withdraw": (lambda c, n: grant(c, "provider-sharing"), "{id}/withdraw", {}),
    "reject": (requested, "{id}/reject", {}),
    "approve": (requested, "{id}/approve", {"notice": NOTICE}),
    "change": (
        lambda c, n: grant(c, "provider-sharing"),
        "{id}/change",
        {"scope": provider_sharing_scope(dataCategories=["conditions"]), "notice": NOTICE},
    ),
    "grant": (
        lambda c, n: None,
        "",
        {"kind": "provider-sharing", "scope": provider_sharing_scope(), "notice": NOTICE},
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_stale_session_changes_no_consent_through_the_api(
    aino: Client, citizen: Any, frozen_now: datetime, change: str
) -> None:
    make, suffix, body = CHANGES[change]
    consent = make(citizen, frozen_now)
    path = "/api/v1/me/consents" + (f"/{suffix.format(id=consent.id)}" if consent else "")
    before = (
        list(Consent.objects.order_by("id").values_list("id", "status")),
        LogEntry.objects.count(),
        Receipt.objects.count(),
    )
    with time_machine.travel(frozen_now + LATER, tick=False):
        refused = post(aino, path, body)
    assert refused.status_code == 403, refused.content
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "https://schemas.tahto.fi/problems/step-up-required"
    assert problem["code"] == "step-up-required"
    assert "Step-up required" in problem["title"]
    assert problem["stepUp"] == "/security/"
    after = (
        list(Consent.objects.order_by("id").values_list("id", "status")),
        LogEntry.objects.count(),
        Receipt.objects.count(),
    )
    assert after == before  # nothing changed, nothing logged as a change, no receipt


def test_pause_and_resume_work_again_after_confirming_at_the_step_up_page(
    aino: Client, citizen: Any, frozen_now: datetime
) -> None:
    consent = grant(citizen, "provider-sharing")
    pause = f"/api/v1/me/consents/{consent.id}/pause"
    with time_machine.travel(frozen_now + LATER, tick=False):
        refused = post(aino, pause, {})
        assert refused.status_code == 403
        page = aino.get(refused.json()["stepUp"], {"next": "/consents/"})
        assert page.status_code == 200 and b'name="step_up_password"' in page.content
        wrong = aino.post(
            "/security/", {"action": "step-up", "step_up_password": "nope", "next": "/consents/"}
        )
        assert wrong.status_code == 200 and stepup_required(wrong.wsgi_request)
        assert post(aino, pause, {}).status_code == 403
        ok = aino.post(
            "/security/",
            {"action": "step-up", "step_up_password": "aino-pass-1", "next": "/consents/"},
        )
        assert ok.status_code == 302 and ok["Location"] == "/consents/"
        assert post(aino, pause, {}).json()["status"] == "paused"
        resume = post(aino, f"/api/v1/me/consents/{consent.id}/resume", {})
        assert resume.status_code == 200 and resume.json()["status"] == "active"


def test_the_step_up_page_sends_nobody_to_another_site(aino: Client, frozen_now: datetime) -> None:
    with time_machine.travel(frozen_now + LATER, tick=False):
        ok = aino.post(
            "/security/",
            {
                "action": "step-up",
                "step_up_password": "aino-pass-1",
                "next": "https://evil.example/",
            },
        )
    assert ok.status_code == 302 and ok["Location"] == "/security/"


def test_reading_needs_no_step_up(aino: Client, citizen: Any, frozen_now: datetime) -> None:
    consent = grant(citizen, "provider-sharing")
    with time_machine.travel(frozen_now + LATER, tick=False):
        assert aino.get("/api/v1/me/consents").status_code == 200
        assert aino.get(f"/api/v1/me/consents/{consent.id}/history").status_code == 200


def test_a_session_without_any_proof_needs_step_up(aino: Client, citizen: Any) -> None:
    session = aino.session
    del session[SESSION_KEY]
    session.save()
    consent = grant(citizen, "provider-sharing")
    refused = post(aino, f"/api/v1/me/consents/{consent.id}/withdraw", {})
    assert refused.status_code == 403 and refused.json()["code"] == "step-up-required"
    consent.refresh_from_db()
    assert consent.status == "active"
