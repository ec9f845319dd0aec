"""The attack on a staff change's window: a code issued (or a request pushed and opened) just
before staff change what it depends on must not be exchanged after the change. The change
ends the codes and pushed requests in its own transaction, as it ends the tokens."""

from datetime import date, datetime
from typing import Any

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, Grant

from consents.events import EventType
from mydata_operator.identity.models import Person
from schemas.hetu import make_hetu
from tests.provider_api.conftest import (
    ProviderClient,
    authorize,
    authorize_params,
    exchange,
    pkce,
    pushed_query,
    request_consent,
)
from tests.staff.conftest import admin_action, browser_of, entries

pytestmark = pytest.mark.usefixtures("frozen_now")

SPARE_CODE = make_hetu(date(1979, 11, 3), 950)


def _refused_without_a_token(pc: ProviderClient, answer: Any) -> None:
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == "invalid_grant"
    assert "access_token" not in answer.json()
    assert not AccessToken.objects.filter(application__client_id=pc.client_id).exists()


def test_a_code_issued_before_an_identity_code_change_is_not_exchanged_after_it(
    citizen: Person, provider_client: ProviderClient, frozen_now: datetime, staff: Client
) -> None:
    consent = request_consent(citizen, frozen_now)
    code = authorize(browser_of(citizen), provider_client, consent.id)
    assert Grant.objects.filter(application__client_id=provider_client.client_id).exists()

    moved = admin_action(
        staff,
        "identity/person",
        citizen,
        "change_identity_code",
        personal_identity_code=SPARE_CODE,
        reason="ticket 4712: wrong code",
    )
    assert moved.status_code == 302

    _refused_without_a_token(provider_client, exchange(Client(), provider_client, code))
    [entry] = entries(EventType.IDENTITY_CODE_CHANGED)
    assert entry["codesEnded"] == 1 and entry["tokensEnded"] == 0


def test_a_code_issued_before_an_organisation_id_change_is_not_exchanged_after_it(
    citizen: Person, provider_client: ProviderClient, frozen_now: datetime, staff: Client
) -> None:
    code = authorize(browser_of(citizen), provider_client, request_consent(citizen, frozen_now).id)

    changed = admin_action(
        staff,
        "identity/provider",
        provider_client.provider,
        "change_organisation_id",
        organisation_id="1.2.246.10.9999999.10.0",
        reason="merger",
    )
    assert changed.status_code == 302

    assert not Grant.objects.filter(application__client_id=provider_client.client_id).exists()
    _refused_without_a_token(provider_client, exchange(Client(), provider_client, code))
    [entry] = entries(EventType.PROVIDER_ORGANISATION_CHANGED)
    assert entry["codesEnded"] == 1


def test_an_authorize_page_opened_before_an_identity_code_change_cannot_be_approved_after_it(
    citizen: Person, provider_client: ProviderClient, frozen_now: datetime, staff: Client
) -> None:
    consent = request_consent(citizen, frozen_now)
    _verifier, challenge = pkce()
    front = pushed_query(
        provider_client, authorize_params(provider_client.client_id, consent.id, challenge)
    )
    browser = browser_of(citizen)
    page = browser.get("/o/authorize/", front)
    assert page.status_code == 200
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}

    admin_action(
        staff,
        "identity/person",
        citizen,
        "change_identity_code",
        personal_identity_code=SPARE_CODE,
        reason="ticket 4713",
    )

    answer = browser.post("/o/authorize/", {**form, "allow": "true"})
    assert answer.status_code == 400
    assert "code=" not in answer.get("Location", "")
    assert not Grant.objects.exists()
    assert entries(EventType.IDENTITY_CODE_CHANGED)[0]["codesEnded"] == 1
