"""The citizen apps' authorization server describes itself (RFC 8414): its own issuer
`{public URL}/o/apps`, whose metadata is at the well-known URI RFC 8414 §3.1 derives from it,
naming exactly the endpoints /o/apps/par, /o/apps/authorize and /o/apps/token; its
authorization and token responses carry that issuer (RFC 9207). The providers' document at
/.well-known/oauth-authorization-server says what it said before."""

from typing import Any
from urllib.parse import parse_qs, urlparse, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import resolve

from mydata_operator.provider_api.client_keys import app_issuer, client_assertion_audiences
from tests.citizen_api.test_citizen_apps import (
    READ_WRITE,
    app_authorize,
    app_tokens,
)
from tests.citizen_api.test_citizen_apps import citizen_app as citizen_app  # a fixture


def well_known(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known path goes between the host and the issuer's path."""
    parts = urlsplit(issuer)
    return f"/.well-known/oauth-authorization-server{parts.path}"


def metadata(path: str) -> dict[str, Any]:
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"  # browser apps read it too
    body: dict[str, Any] = response.json()
    return body


def test_the_app_servers_metadata_is_at_its_issuers_well_known_uri(db: Any) -> None:
    issuer = f"{settings.TAHTO_PUBLIC_URL}/o/apps"
    assert app_issuer() == issuer
    meta = metadata(well_known(issuer))
    assert meta["issuer"] == issuer  # RFC 8414 §3.3: identical to the issuer asked about
    base = settings.TAHTO_PUBLIC_URL
    assert meta["pushed_authorization_request_endpoint"] == f"{base}/o/apps/par"
    assert meta["authorization_endpoint"] == f"{base}/o/apps/authorize"
    assert meta["token_endpoint"] == f"{base}/o/apps/token"
    names = {
        "pushed_authorization_request_endpoint": "app-par",
        "authorization_endpoint": "app-authorize",
        "token_endpoint": "app-token",
    }
    for member, name in names.items():
        assert resolve(urlsplit(meta[member]).path).url_name == name


def test_the_app_servers_metadata_says_what_the_server_does(db: Any) -> None:
    meta = metadata("/.well-known/oauth-authorization-server/o/apps")
    assert meta["require_pushed_authorization_requests"] is True
    assert meta["scopes_supported"] == ["consents:read", "consents:write"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["response_modes_supported"] == ["query"]
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["token_endpoint_auth_methods_supported"] == ["none", "private_key_jwt"]
    assert "ES256" in meta["token_endpoint_auth_signing_alg_values_supported"]
    assert meta["dpop_bound_access_tokens_required"] is True
    assert "ES256" in meta["dpop_signing_alg_values_supported"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    # Nothing the app server does not have.
    for absent in (
        "introspection_endpoint",
        "revocation_endpoint",
        "authorization_details_types_supported",
    ):
        assert absent not in meta


def test_the_providers_document_is_unchanged(db: Any) -> None:
    base = settings.TAHTO_PUBLIC_URL
    meta = metadata("/.well-known/oauth-authorization-server")
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == f"{base}/o/authorize/"
    assert meta["token_endpoint"] == f"{base}/o/token/"
    assert meta["introspection_endpoint"] == f"{base}/o/introspect/"
    assert meta["revocation_endpoint"] == f"{base}/o/revoke_token/"
    assert meta["pushed_authorization_request_endpoint"] == f"{base}/o/par"
    assert meta["scopes_supported"] == ["consent"]
    assert meta["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert "/o/apps" not in str(meta)
    assert not any(key.startswith("tahto_") for key in meta)


@pytest.mark.usefixtures("citizen_app")
def test_the_apps_responses_carry_the_app_servers_issuer(
    citizen_browser: Client, frozen_now: Any
) -> None:
    tokens = app_tokens(citizen_browser, "consents:read")
    assert tokens.answer["iss"] == app_issuer()
    answer, _verifier = app_authorize(citizen_browser, READ_WRITE)
    query = parse_qs(urlparse(answer["Location"]).query)
    assert query["iss"] == [app_issuer()]  # RFC 9207: the issuer of this server's metadata


@pytest.mark.usefixtures("citizen_app")
def test_a_declined_authorization_carries_the_app_servers_issuer(citizen_browser: Client) -> None:
    answer, _verifier = app_authorize(citizen_browser, READ_WRITE, allow="false")
    query = parse_qs(urlparse(answer["Location"]).query)
    assert query["error"] == ["access_denied"] and query["iss"] == [app_issuer()]


def test_client_assertions_may_name_the_app_servers_issuer_only_at_its_endpoints() -> None:
    base = settings.TAHTO_PUBLIC_URL
    for path in ("/o/apps/par", "/o/apps/token"):
        audiences = client_assertion_audiences(path)
        assert app_issuer() in audiences and f"{base}{path}" in audiences
    for path in ("/o/par", "/o/token/", "/o/introspect/"):
        assert app_issuer() not in client_assertion_audiences(path)
