"""FAPI 2.0 Security Profile: the attacks a tester would run, each refused."""

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.test import Client
from oauth2_provider.models import Application, Grant

from consents.models import Consent
from consents.states import Status
from mydata_operator.provider_api.models import ClientProfile
from mydata_operator.security.dpop import dpop_nonce
from tests.fixtures.kanta import KantaStandIn
from tests.provider_api.conftest import (
    REDIRECT,
    DpopKey,
    ProviderClient,
    authorize,
    authorize_params,
    exchange,
    pkce,
    push,
    pushed_query,
    token_request,
)

DATA = "/api/v1/data/Condition"


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def _tokens(browser: Client, pc: ProviderClient, consent: Consent) -> dict[str, Any]:
    answer = exchange(Client(), pc, authorize(browser, pc, consent.id))
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def _call(token: str, *, scheme: str = "DPoP", proof: str | None = None, path: str = DATA) -> Any:
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    return Client().get(path, **headers)


@pytest.fixture
def issued(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> dict[str, Any]:
    return _tokens(citizen_browser, provider_client, consent_request)


# --- DPoP at the resource -----------------------------------------------------------------


def test_token_is_dpop_bound_and_works_with_a_proof_of_its_key(
    issued: dict[str, Any], provider_client: ProviderClient, kanta: KantaStandIn
) -> None:
    assert issued["token_type"] == "DPoP"
    token = issued["access_token"]
    answer = _call(token, proof=provider_client.dpop.proof("GET", DATA, token=token))
    assert answer.status_code == 200, answer.content


def test_stolen_token_without_the_key_is_refused(issued: dict[str, Any]) -> None:
    token = issued["access_token"]
    answer = _call(token, proof=DpopKey().proof("GET", DATA, token=token))
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith('DPoP error="invalid_token"')


def test_token_without_a_proof_is_refused(issued: dict[str, Any]) -> None:
    answer = _call(issued["access_token"])
    assert answer.status_code == 401
    assert 'error="invalid_dpop_proof"' in answer["WWW-Authenticate"]


def test_bearer_use_of_a_dpop_bound_token_is_refused(
    issued: dict[str, Any], provider_client: ProviderClient
) -> None:
    token = issued["access_token"]
    proof = provider_client.dpop.proof("GET", DATA, token=token)
    answer = _call(token, scheme="Bearer", proof=proof)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith('DPoP error="invalid_token"')


def test_a_replayed_proof_is_refused(
    issued: dict[str, Any], provider_client: ProviderClient, kanta: KantaStandIn
) -> None:
    token = issued["access_token"]
    proof = provider_client.dpop.proof("GET", DATA, token=token)
    assert _call(token, proof=proof).status_code == 200
    again = _call(token, proof=proof)
    assert again.status_code == 401
    assert "replay" in again.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", DATA), ("GET", "/api/v1/data/MedicationStatement"), ("GET", "/o/token/")],
)
def test_a_proof_for_another_method_or_url_is_refused(
    issued: dict[str, Any], provider_client: ProviderClient, method: str, path: str
) -> None:
    token = issued["access_token"]
    answer = _call(token, proof=provider_client.dpop.proof(method, path, token=token))
    assert answer.status_code == 401


def test_a_proof_with_the_hash_of_another_token_is_refused(
    issued: dict[str, Any], provider_client: ProviderClient
) -> None:
    token = issued["access_token"]
    answer = _call(token, proof=provider_client.dpop.proof("GET", DATA, token="another"))
    assert answer.status_code == 401
    assert "ath" in answer.json()["detail"]


def test_an_old_proof_is_refused(issued: dict[str, Any], provider_client: ProviderClient) -> None:
    token = issued["access_token"]
    stale = provider_client.dpop.proof("GET", DATA, token=token, iat=time.time() - 600)
    assert _call(token, proof=stale).status_code == 401


def test_introspection_answers_the_key_binding(
    issued: dict[str, Any], provider_client: ProviderClient
) -> None:
    answer = (
        Client()
        .post(
            "/o/introspect/", {"token": issued["access_token"], **provider_client.assertion_form()}
        )
        .json()
    )
    assert answer["active"] is True and answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": provider_client.dpop.jkt}


# --- DPoP at the token endpoint -----------------------------------------------------------


def test_code_exchange_without_a_proof_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client, consent_request.id)
    answer = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": auth.code,
            "redirect_uri": REDIRECT,
            "code_verifier": auth.verifier,
            **provider_client.assertion_form(),
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_dpop_proof"


def test_refresh_works_only_with_the_key_the_tokens_are_bound_to(
    issued: dict[str, Any], provider_client: ProviderClient
) -> None:
    refresh = issued["refresh_token"]
    other = token_request(
        Client(),
        provider_client,
        dpop=DpopKey(),
        grant_type="refresh_token",
        refresh_token=refresh,
    )
    assert other.status_code == 400 and other.json()["error"] == "invalid_dpop_proof"
    same = token_request(
        Client(), provider_client, grant_type="refresh_token", refresh_token=refresh
    )
    assert same.status_code == 200, same.content
    introspected = (
        Client()
        .post(
            "/o/introspect/",
            {"token": same.json()["access_token"], **provider_client.assertion_form()},
        )
        .json()
    )
    assert introspected["cnf"]["jkt"] == provider_client.dpop.jkt


def test_server_nonce_is_required_when_configured(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    settings: Any,
    kanta: KantaStandIn,
) -> None:
    settings.TAHTO_DPOP_NONCE_REQUIRED = True
    auth = authorize(citizen_browser, provider_client, consent_request.id)
    data = {
        "grant_type": "authorization_code",
        "code": auth.code,
        "redirect_uri": REDIRECT,
        "code_verifier": auth.verifier,
    }
    first = Client().post(
        "/o/token/",
        {**data, **provider_client.assertion_form()},
        HTTP_DPOP=provider_client.dpop.proof("POST", "/o/token/"),
    )
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    nonce = first["DPoP-Nonce"]
    assert nonce == dpop_nonce()
    second = Client().post(
        "/o/token/",
        {**data, **provider_client.assertion_form()},
        HTTP_DPOP=provider_client.dpop.proof("POST", "/o/token/", nonce=nonce),
    )
    assert second.status_code == 200, second.content
    token = second.json()["access_token"]
    bare = _call(token, proof=provider_client.dpop.proof("GET", DATA, token=token))
    assert bare.status_code == 401 and 'error="use_dpop_nonce"' in bare["WWW-Authenticate"]
    assert bare["DPoP-Nonce"] == nonce
    proof = provider_client.dpop.proof("GET", DATA, token=token, nonce=nonce)
    assert _call(token, proof=proof).status_code == 200


# --- private_key_jwt ----------------------------------------------------------------------


def test_client_secret_basic_and_post_are_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client, consent_request.id)
    data = {
        "grant_type": "authorization_code",
        "code": auth.code,
        "redirect_uri": REDIRECT,
        "code_verifier": auth.verifier,
    }
    proof = provider_client.dpop.proof
    basic = Client().post(
        "/o/token/",
        data,
        HTTP_AUTHORIZATION=provider_client.basic,
        HTTP_DPOP=proof("POST", "/o/token/"),
    )
    post = Client().post(
        "/o/token/",
        {**data, "client_id": provider_client.client_id, "client_secret": provider_client.secret},
        HTTP_DPOP=proof("POST", "/o/token/"),
    )
    for answer in (basic, post):
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    introspect = Client().post(
        "/o/introspect/", {"token": "x"}, HTTP_AUTHORIZATION=provider_client.basic
    )
    assert introspect.status_code == 401
    par = Client().post(
        "/o/par",
        {"client_id": provider_client.client_id, "client_secret": provider_client.secret},
    )
    assert par.status_code == 401


def test_a_replayed_client_assertion_is_refused(provider_client: ProviderClient) -> None:
    form = {"token": "x", **provider_client.assertion_form()}
    assert Client().post("/o/introspect/", form).status_code == 200
    assert Client().post("/o/introspect/", form).status_code == 401


def test_revocation_takes_private_key_jwt(
    issued: dict[str, Any], provider_client: ProviderClient
) -> None:
    token = issued["access_token"]
    refused = Client().post("/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION="Basic eDp5")
    assert refused.status_code == 401
    done = Client().post("/o/revoke_token/", {"token": token, **provider_client.assertion_form()})
    assert done.status_code == 200
    proof = provider_client.dpop.proof("GET", DATA, token=token)
    assert _call(token, proof=proof).status_code == 401


# --- PAR ----------------------------------------------------------------------------------


def test_front_channel_authorize_without_par_is_refused_with_iss(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    params = authorize_params(provider_client.client_id, consent_request.id, challenge)
    answer = citizen_browser.get("/o/authorize/", params)
    assert answer.status_code == 302
    query = _query(answer["Location"])
    assert query["error"] == "invalid_request" and query["iss"] == "http://127.0.0.1:8000"
    assert Consent.objects.get(id=consent_request.id).status == Status.REQUESTED


def test_front_channel_authorize_to_an_unregistered_uri_is_not_redirected(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    params = authorize_params(
        provider_client.client_id,
        consent_request.id,
        challenge,
        redirect_uri="https://evil.example/",
    )
    answer = citizen_browser.get("/o/authorize/", params)
    assert answer.status_code == 400 and "Location" not in answer


def test_pushed_request_answers_a_short_lived_request_uri(
    provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    answer = push(
        provider_client, authorize_params(provider_client.client_id, consent_request.id, challenge)
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert 60 <= body["expires_in"] <= 600


def test_a_request_uri_is_used_once(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    query = pushed_query(
        provider_client, authorize_params(provider_client.client_id, consent_request.id, challenge)
    )
    assert citizen_browser.get("/o/authorize/", query).status_code == 200
    again = citizen_browser.get("/o/authorize/", query)
    assert again.status_code == 400 and b"invalid_request_uri" in again.content


def test_a_request_uri_of_another_client_is_refused(
    citizen_browser: Client,
    provider_client: ProviderClient,
    other_provider_client: ProviderClient,
    consent_request: Consent,
) -> None:
    _, challenge = pkce()
    query = pushed_query(
        provider_client, authorize_params(provider_client.client_id, consent_request.id, challenge)
    )
    stolen = {**query, "client_id": other_provider_client.client_id}
    answer = citizen_browser.get("/o/authorize/", stolen)
    assert answer.status_code == 400 and b"invalid_request_uri" in answer.content


def test_an_expired_request_uri_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    query = pushed_query(
        provider_client, authorize_params(provider_client.client_id, consent_request.id, challenge)
    )
    with time_machine.travel(time.time() + 91, tick=False):
        answer = citizen_browser.get("/o/authorize/", query)
    assert answer.status_code == 400 and b"expired" in answer.content


# --- redirect URIs ------------------------------------------------------------------------


def _loopback_client(pc: ProviderClient, *, demo: bool) -> None:
    app = Application.objects.get(client_id=pc.client_id)
    app.redirect_uris = "http://127.0.0.1:8765/callback"
    app.save()
    ClientProfile.objects.update_or_create(application=app, defaults={"demo": demo})


def test_loopback_port_relaxation_is_not_applied(
    provider_client: ProviderClient, consent_request: Consent
) -> None:
    _loopback_client(provider_client, demo=True)
    _, challenge = pkce()
    for uri, status in (
        ("http://127.0.0.1:8766/callback", 400),
        ("http://127.0.0.1:8765/callback", 201),
    ):
        params = authorize_params(
            provider_client.client_id, consent_request.id, challenge, redirect_uri=uri
        )
        assert push(provider_client, params).status_code == status, uri


def test_http_redirect_uri_only_for_a_demo_client(
    provider_client: ProviderClient, consent_request: Consent
) -> None:
    _loopback_client(provider_client, demo=False)
    _, challenge = pkce()
    params = authorize_params(
        provider_client.client_id,
        consent_request.id,
        challenge,
        redirect_uri="http://127.0.0.1:8765/callback",
    )
    assert push(provider_client, params).status_code == 400


# --- codes, errors, iss -------------------------------------------------------------------


def test_codes_are_stored_hashed(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client, consent_request.id)
    assert not Grant.objects.filter(code=auth.code).exists()
    assert Grant.objects.count() == 1


def test_a_replayed_code_revokes_the_tokens_it_gave(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client, consent_request.id)
    first = exchange(Client(), provider_client, auth)
    assert first.status_code == 200
    token = first.json()["access_token"]
    replay = exchange(Client(), provider_client, auth)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    proof = provider_client.dpop.proof("GET", DATA, token=token)
    assert _call(token, proof=proof).status_code == 401
    refreshed = token_request(
        Client(),
        provider_client,
        grant_type="refresh_token",
        refresh_token=first.json()["refresh_token"],
    )
    assert refreshed.status_code == 400


@pytest.mark.parametrize("grant_type", ["client_credentials", "password", "urn:x:made-up"])
def test_unsupported_grant_types_say_so(provider_client: ProviderClient, grant_type: str) -> None:
    answer = token_request(Client(), provider_client, grant_type=grant_type)
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("response_type", ["token", "code id_token", "none"])
def test_unsupported_response_types_say_so(
    provider_client: ProviderClient, consent_request: Consent, response_type: str
) -> None:
    _, challenge = pkce()
    params = authorize_params(
        provider_client.client_id, consent_request.id, challenge, response_type=response_type
    )
    answer = push(provider_client, params)
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_response_type"


def test_the_citizens_reject_carries_iss(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client, consent_request.id, allow=False)
    query = _query(auth.location)
    assert query["error"] == "access_denied" and query["iss"] == "http://127.0.0.1:8000"
    assert list(parse_qs(urlparse(auth.location).query)["iss"]) == ["http://127.0.0.1:8000"]


def test_metadata_says_exactly_what_the_server_does(db: Any) -> None:
    data = Client().get("/.well-known/oauth-authorization-server").json()
    assert data["pushed_authorization_request_endpoint"].endswith("/o/par")
    assert data["require_pushed_authorization_requests"] is True
    assert data["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert data["introspection_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert data["revocation_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert set(data["token_endpoint_auth_signing_alg_values_supported"]) == {
        "PS256",
        "ES256",
        "EdDSA",
    }
    assert set(data["dpop_signing_alg_values_supported"]) == {"PS256", "ES256", "EdDSA"}
    assert data["authorization_response_iss_parameter_supported"] is True
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert data["response_types_supported"] == ["code"]


# --- step-up on the approval page ---------------------------------------------------------


def test_a_stale_session_must_enter_the_password_to_approve(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    settings: Any,
) -> None:
    session = citizen_browser.session
    session["tahto_step_up_at"] = time.time() - settings.TAHTO_STEP_UP_SECONDS - 1
    session.save()
    _, challenge = pkce()
    query = pushed_query(
        provider_client, authorize_params(provider_client.client_id, consent_request.id, challenge)
    )
    page = citizen_browser.get("/o/authorize/", query)
    assert page.status_code == 200 and b"step_up_password" in page.content
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    refused = citizen_browser.post("/o/authorize/", {**data, "allow": "true"})
    assert refused.status_code == 403
    assert Consent.objects.get(id=consent_request.id).status == Status.REQUESTED
    wrong = citizen_browser.post(
        "/o/authorize/", {**data, "allow": "true", "step_up_password": "not-it"}
    )
    assert wrong.status_code == 403
    assert Consent.objects.get(id=consent_request.id).status == Status.REQUESTED
    right = citizen_browser.post(
        "/o/authorize/", {**data, "allow": "true", "step_up_password": "aino-pass-1"}
    )
    assert right.status_code == 302 and "code" in _query(right["Location"])
    assert Consent.objects.get(id=consent_request.id).status == Status.ACTIVE


def test_old_pushed_requests_and_proof_ids_are_forgotten(
    issued: dict[str, Any], provider_client: ProviderClient, consent_request: Consent
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from mydata_operator.provider_api.fapi import pushed_prune
    from mydata_operator.provider_api.models import PushedAuthorizationRequest
    from mydata_operator.security.dpop import dpop_uses_prune
    from mydata_operator.security.models import DpopProofUse

    _, challenge = pkce()
    push(
        provider_client, authorize_params(provider_client.client_id, consent_request.id, challenge)
    )
    assert PushedAuthorizationRequest.objects.exists() and DpopProofUse.objects.exists()
    later = timezone.now() + timedelta(hours=2)
    assert pushed_prune(now=later) >= 1 and dpop_uses_prune(now=later) >= 1
    assert not PushedAuthorizationRequest.objects.exists()
    assert not DpopProofUse.objects.exists()
