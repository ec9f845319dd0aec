"""Citizens' own apps: PAR + PKCE + DPoP at /o/apps/, scoped tokens on /api/v1/me/, step-up,
revocation, and never mixed with providers' consent-bound tokens."""

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.test import Client
from oauth2_provider.models import Application

from consents.models import Consent
from mydata_operator.identity.models import Person
from mydata_operator.provider_api.models import ClientProfile
from mydata_operator.security.citizen_apps import app_authorizations_of
from mydata_operator.security.models import CitizenAppAuthorization
from tests.conftest import grant
from tests.provider_api.conftest import (
    DpopKey,
    ProviderClient,
    authorize,
    exchange,
    pkce,
)

APP_ID = "tahto-demo-app"
APP_REDIRECT = "http://127.0.0.1:8170/callback"
READ_WRITE = "consents:read consents:write"


@pytest.fixture
def citizen_app(db: Any) -> Application:
    app = Application.objects.create(
        client_id=APP_ID,
        name="Oma terveys -sovellus",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=APP_REDIRECT,
        algorithm="",
    )
    ClientProfile.objects.create(application=app, demo=True, kind=ClientProfile.Kind.CITIZEN_APP)
    return app


@dataclass
class AppTokens:
    access: str
    refresh: str | None
    key: DpopKey
    answer: dict[str, Any]


def app_authorize(browser: Client, scope: str, **form: str) -> tuple[Any, str]:
    """Push, open the consent screen, approve; return the redirect and the PKCE verifier."""
    verifier, challenge = pkce()
    pushed = Client().post(
        "/o/apps/par",
        {
            "client_id": APP_ID,
            "response_type": "code",
            "redirect_uri": APP_REDIRECT,
            "scope": scope,
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert pushed.status_code == 201, pushed.content
    request_uri = pushed.json()["request_uri"]
    page = browser.get("/o/apps/authorize", {"client_id": APP_ID, "request_uri": request_uri})
    assert page.status_code == 200, page.content
    answer = browser.post(
        "/o/apps/authorize",
        {"client_id": APP_ID, "request_uri": request_uri, "allow": "true", **form},
    )
    return answer, verifier


def app_tokens(browser: Client, scope: str = READ_WRITE) -> AppTokens:
    answer, verifier = app_authorize(browser, scope)
    assert answer.status_code == 302, answer.content
    query = parse_qs(urlparse(answer["Location"]).query)
    assert query["state"] == ["s1"] and query["iss"]
    key = DpopKey()
    token = Client().post(
        "/o/apps/token",
        {
            "grant_type": "authorization_code",
            "client_id": APP_ID,
            "code": query["code"][0],
            "redirect_uri": APP_REDIRECT,
            "code_verifier": verifier,
        },
        HTTP_DPOP=key.proof("POST", "/o/apps/token"),
    )
    assert token.status_code == 200, token.content
    body = token.json()
    return AppTokens(body["access_token"], body.get("refresh_token"), key, body)


def call(method: str, path: str, tokens: AppTokens, key: DpopKey | None = None, **kw: Any) -> Any:
    proof = (key or tokens.key).proof(method.upper(), path, token=tokens.access)
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"DPoP {tokens.access}", "HTTP_DPOP": proof}
    if method == "get":
        return Client().get(path, **headers)
    return Client().post(path, kw.get("body", "{}"), content_type="application/json", **headers)


@pytest.fixture
def consent(citizen: Person, frozen_now: datetime) -> Consent:
    return grant(citizen, "provider-sharing")


@pytest.mark.usefixtures("citizen_app")
def test_app_reads_own_consents_with_a_token(citizen_browser: Client, consent: Consent) -> None:
    tokens = app_tokens(citizen_browser, "consents:read")
    assert tokens.answer["token_type"] == "DPoP" and tokens.answer["scope"] == "consents:read"
    listed = call("get", "/api/v1/me/consents", tokens)
    assert listed.status_code == 200, listed.content
    assert [c["id"] for c in listed.json()["consents"]] == [str(consent.id)]
    receipts = call("get", f"/api/v1/me/consents/{consent.id}/receipts", tokens)
    assert receipts.status_code == 200 and receipts.json()["receipts"]


@pytest.mark.usefixtures("citizen_app")
def test_app_withdraws_with_the_write_scope(citizen_browser: Client, consent: Consent) -> None:
    tokens = app_tokens(citizen_browser)
    assert "refresh_token" not in tokens.answer  # a write grant is never refreshed
    assert tokens.answer["expires_in"] <= 300
    answer = call("post", f"/api/v1/me/consents/{consent.id}/withdraw", tokens)
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "withdrawn"


@pytest.mark.usefixtures("citizen_app")
def test_write_is_refused_with_the_read_scope(citizen_browser: Client, consent: Consent) -> None:
    tokens = app_tokens(citizen_browser, "consents:read")
    answer = call("post", f"/api/v1/me/consents/{consent.id}/withdraw", tokens)
    assert answer.status_code == 403
    assert "consents:write" in answer.json()["detail"]
    consent.refresh_from_db()
    assert consent.status == "active"


@pytest.mark.usefixtures("citizen_app")
def test_app_cannot_grant_a_consent(citizen_browser: Client) -> None:
    tokens = app_tokens(citizen_browser)
    answer = call("post", "/api/v1/me/consents", tokens, body='{"kind": "biobank"}')
    assert answer.status_code == 403


@pytest.mark.usefixtures("citizen_app")
def test_another_citizens_consent_is_404(
    citizen_browser: Client, other_citizen: Person, frozen_now: datetime
) -> None:
    theirs = grant(other_citizen, "provider-sharing")
    tokens = app_tokens(citizen_browser)
    assert call("get", f"/api/v1/me/consents/{theirs.id}", tokens).status_code == 404
    withdrawn = call("post", f"/api/v1/me/consents/{theirs.id}/withdraw", tokens)
    assert withdrawn.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "active"


@pytest.mark.usefixtures("citizen_app")
def test_a_dpop_proof_of_the_tokens_key_is_required(
    citizen_browser: Client, consent: Consent
) -> None:
    tokens = app_tokens(citizen_browser, "consents:read")
    bare = Client().get("/api/v1/me/consents", HTTP_AUTHORIZATION=f"DPoP {tokens.access}")
    assert bare.status_code == 401 and bare["WWW-Authenticate"].startswith("DPoP")
    bearer = Client().get("/api/v1/me/consents", HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
    assert bearer.status_code == 401
    other_key = call("get", "/api/v1/me/consents", tokens, key=DpopKey())
    assert other_key.status_code == 401


@pytest.mark.usefixtures("citizen_app")
def test_the_token_endpoint_requires_a_dpop_proof(citizen_browser: Client) -> None:
    answer, verifier = app_authorize(citizen_browser, "consents:read")
    code = parse_qs(urlparse(answer["Location"]).query)["code"][0]
    token = Client().post(
        "/o/apps/token",
        {
            "grant_type": "authorization_code",
            "client_id": APP_ID,
            "code": code,
            "redirect_uri": APP_REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_dpop_proof"


@pytest.mark.usefixtures("citizen_app")
def test_revoked_apps_token_is_refused(
    citizen_browser: Client, citizen: Person, consent: Consent
) -> None:
    tokens = app_tokens(citizen_browser, "consents:read")
    [authorization] = app_authorizations_of(citizen.user)
    page = citizen_browser.get("/security/")
    assert page.status_code == 200 and "Oma terveys -sovellus" in page.content.decode()
    revoked = citizen_browser.post(f"/security/apps/{authorization.id}/revoke/")
    assert revoked.status_code == 302
    assert app_authorizations_of(citizen.user) == []
    assert call("get", "/api/v1/me/consents", tokens).status_code == 401
    refreshed = Client().post(
        "/o/apps/token",
        {"grant_type": "refresh_token", "client_id": APP_ID, "refresh_token": tokens.refresh},
        HTTP_DPOP=tokens.key.proof("POST", "/o/apps/token"),
    )
    assert refreshed.status_code == 400


@pytest.mark.usefixtures("citizen_app")
def test_another_citizen_cannot_revoke_my_app(
    citizen_browser: Client, citizen: Person, other_citizen: Person
) -> None:
    app_tokens(citizen_browser, "consents:read")
    [authorization] = app_authorizations_of(citizen.user)
    browser = Client()
    assert other_citizen.user is not None
    browser.force_login(other_citizen.user)
    assert browser.post(f"/security/apps/{authorization.id}/revoke/").status_code == 404
    assert app_authorizations_of(citizen.user) == [authorization]


@pytest.mark.usefixtures("citizen_app")
def test_write_needs_a_fresh_step_up_read_does_not(
    citizen_browser: Client, consent: Consent, frozen_now: datetime
) -> None:
    tokens = app_tokens(citizen_browser)
    with time_machine.travel(frozen_now + timedelta(seconds=301), tick=False):
        # The write token has expired with its step-up; a read-only grant lives on.
        path = f"/api/v1/me/consents/{consent.id}/pause"
        assert call("post", path, tokens).status_code == 401
    read = app_tokens(citizen_browser, "consents:read")
    with time_machine.travel(frozen_now + timedelta(seconds=301), tick=False):
        assert call("get", "/api/v1/me/consents", read).status_code == 200


@pytest.mark.usefixtures("citizen_app")
def test_approval_needs_a_fresh_step_up(citizen: Person, frozen_now: datetime) -> None:
    """A stale session enters the password: wrong is refused, right gives the code."""
    browser = Client()
    assert citizen.user is not None
    browser.force_login(citizen.user)
    with time_machine.travel(frozen_now + timedelta(minutes=10), tick=False):
        answer, _ = app_authorize(browser, READ_WRITE)
        assert answer.status_code == 403
        assert app_authorizations_of(citizen.user) == []
        answer, _ = app_authorize(browser, READ_WRITE, step_up_password="wrong")
        assert answer.status_code == 403
        assert answer.content.decode().count("<li>") == 2  # the page still says what it asks
        assert app_authorizations_of(citizen.user) == []
        answer, _ = app_authorize(browser, READ_WRITE, step_up_password="aino-pass-1")
        assert answer.status_code == 302 and "code=" in answer["Location"]
        granted = CitizenAppAuthorization.objects.get(user=citizen.user)
        assert granted.step_up_at == frozen_now + timedelta(minutes=10)


@pytest.mark.usefixtures("citizen_app")
def test_guardian_app_acts_for_the_child(family: Any, frozen_now: datetime) -> None:
    childs = grant(family.child, "provider-sharing", actor=family.guardian)
    browser = Client()
    assert family.guardian.user is not None
    browser.force_login(family.guardian.user)
    tokens = app_tokens(browser)
    listed = call("get", "/api/v1/me/consents", tokens).json()["consents"]
    assert str(childs.id) in [c["id"] for c in listed]
    paused = call("post", f"/api/v1/me/consents/{childs.id}/pause", tokens)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"


def test_provider_token_is_refused_on_me(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    answer = exchange(Client(), provider_client, auth)
    assert answer.status_code == 200, answer.content
    token = answer.json()["access_token"]
    proof = provider_client.dpop.proof("GET", "/api/v1/me/consents", token=token)
    me = Client().get("/api/v1/me/consents", HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof)
    assert me.status_code == 401


def test_provider_client_cannot_use_the_app_endpoints(provider_client: ProviderClient) -> None:
    _, challenge = pkce()
    pushed = Client().post(
        "/o/apps/par",
        {
            "client_id": provider_client.client_id,
            "response_type": "code",
            "redirect_uri": "https://provider.example/callback",
            "scope": "consents:read",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **provider_client.assertion_form(aud="http://testserver/o/apps/par"),
        },
    )
    assert pushed.status_code == 401 and pushed.json()["error"] == "invalid_client"


@pytest.mark.usefixtures("citizen_app")
def test_app_token_is_refused_on_provider_endpoints(
    citizen_browser: Client, consent: Consent
) -> None:
    tokens = app_tokens(citizen_browser)
    data = call("get", "/api/v1/data/Condition", tokens)
    assert data.status_code == 401
    request = call("post", "/api/v1/consent-requests", tokens)
    assert request.status_code in (401, 403)
    # Nor can the app get provider tokens: /o/par and /o/token/ want a provider's key.
    _, challenge = pkce()
    pushed = Client().post(
        "/o/par",
        {
            "client_id": APP_ID,
            "response_type": "code",
            "redirect_uri": APP_REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert pushed.status_code == 401


@pytest.mark.usefixtures("citizen_app")
def test_a_code_works_once(citizen_browser: Client) -> None:
    answer, verifier = app_authorize(citizen_browser, "consents:read")
    code = parse_qs(urlparse(answer["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "client_id": APP_ID,
        "code": code,
        "redirect_uri": APP_REDIRECT,
        "code_verifier": verifier,
    }
    key = DpopKey()
    first = Client().post("/o/apps/token", form, HTTP_DPOP=key.proof("POST", "/o/apps/token"))
    assert first.status_code == 200
    again = Client().post("/o/apps/token", form, HTTP_DPOP=key.proof("POST", "/o/apps/token"))
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    token = first.json()["access_token"]
    tokens = AppTokens(token, None, key, first.json())
    assert call("get", "/api/v1/me/consents", tokens).status_code == 401


@pytest.mark.usefixtures("citizen_app")
def test_front_channel_authorize_without_par_is_refused(citizen_browser: Client) -> None:
    page = citizen_browser.get("/o/apps/authorize", {"client_id": APP_ID})
    assert page.status_code == 400


@pytest.mark.usefixtures("citizen_app")
def test_refresh_rotates_and_a_reused_refresh_token_revokes(citizen_browser: Client) -> None:
    tokens = app_tokens(citizen_browser, "consents:read")

    def refresh(value: str | None) -> Any:
        return Client().post(
            "/o/apps/token",
            {"grant_type": "refresh_token", "client_id": APP_ID, "refresh_token": value},
            HTTP_DPOP=tokens.key.proof("POST", "/o/apps/token"),
        )

    first = refresh(tokens.refresh)
    assert first.status_code == 200 and first.json()["refresh_token"] != tokens.refresh
    assert refresh(tokens.refresh).status_code == 400
    assert refresh(first.json()["refresh_token"]).status_code == 400  # revoked with it


def test_demo_data_registers_a_public_demo_citizen_app(
    db: Any, tmp_path: Any, settings: Any
) -> None:
    from django.core.management import call_command

    settings.TAHTO_KEY_DIR = tmp_path
    call_command("demo_data", stdout=io.StringIO())
    call_command("demo_data", stdout=io.StringIO())  # safe to run again
    profile = ClientProfile.objects.get(application__client_id="demo-citizen-app")
    assert profile.kind == ClientProfile.Kind.CITIZEN_APP and profile.demo
    assert profile.application.client_type == Application.CLIENT_PUBLIC
    assert profile.application.redirect_uris == "http://127.0.0.1:8766/callback"


@pytest.mark.usefixtures("citizen_app")
@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("fi", "Sovellus pyytää lupaa käyttää Tahtoa puolestasi"),
        ("sv", "En app ber om att få använda Tahto för dig"),
        ("en", "An app asks to use Tahto for you"),
    ],
)
def test_the_consent_screen_names_the_app_and_scopes_in_each_language(
    citizen_browser: Client, language: str, heading: str
) -> None:
    _, challenge = pkce()
    pushed = Client().post(
        "/o/apps/par",
        {
            "client_id": APP_ID,
            "response_type": "code",
            "redirect_uri": APP_REDIRECT,
            "scope": READ_WRITE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    page = citizen_browser.get(
        "/o/apps/authorize",
        {"client_id": APP_ID, "request_uri": pushed.json()["request_uri"]},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    text = page.content.decode()
    assert heading in text and "Oma terveys -sovellus" in text
    assert text.count("<li>") == 2
