"""A third-party OAuth client library (requests-oauth2client) uses the citizen apps'
metadata as it is: it discovers the app server from its issuer's RFC 8414 document, pushes
the request as a public client with PKCE, checks `iss` in the authorization response against
that issuer (RFC 9207), gets a DPoP-bound token and reads the citizen's consents with it. A
client set up from the providers' document refuses the same response: a mix-up is caught."""

from urllib.parse import urlsplit

import pytest
import requests
from requests_oauth2client import DPoPToken, OAuth2Client, PublicApp
from requests_oauth2client.authorization_request import MismatchingIssuer

from tests.fixtures.live import LiveService
from tests.provider_api.test_live_provider_flow import (
    citizen_session,
    ensure_demo_password,
    hidden_inputs,
)

DEMO_APP = "demo-citizen-app"
DEMO_REDIRECT = "http://127.0.0.1:8766/callback"


def rfc8414_url(issuer: str) -> str:
    """§3.1: /.well-known/oauth-authorization-server inserted before the issuer's path."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{parts.path}"


def test_a_client_library_discovers_the_app_server_and_reads_consents(
    live_service: LiveService,
) -> None:
    base = live_service.url
    issuer = f"{base}/o/apps"
    oauth = OAuth2Client.from_discovery_endpoint(
        rfc8414_url(issuer),
        issuer=issuer,  # the library refuses a document about another issuer
        auth=PublicApp(DEMO_APP),
        redirect_uri=DEMO_REDIRECT,
        dpop_bound_access_tokens=True,
        testing=True,  # only lifts the https-only checks: the live service is http loopback
    )
    assert oauth.token_endpoint == f"{base}/o/apps/token"
    assert oauth.authorization_endpoint == f"{base}/o/apps/authorize"
    assert oauth.pushed_authorization_request_endpoint == f"{base}/o/apps/par"

    azr = oauth.authorization_request(
        scope="consents:read", authorization_response_iss_parameter_supported=True
    )
    assert azr.code_challenge_method == "S256" and azr.issuer == issuer
    pushed = oauth.pushed_authorization_request(azr)

    ensure_demo_password(live_service, "aino")
    aino = citizen_session(base, "aino")
    page = aino.get(pushed.uri, timeout=10)
    assert page.status_code == 200, page.text[:500]
    approved = aino.post(
        oauth.authorization_endpoint,
        data={**hidden_inputs(page.text), "allow": "true"},
        headers={"Referer": pushed.uri},
        allow_redirects=False,
        timeout=10,
    )
    assert approved.status_code == 302, approved.text[:500]
    callback = approved.headers["Location"]

    # A client that took the providers' document for this server would be told apart.
    providers = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10)
    assert providers.json()["issuer"] == base != issuer
    mixed_up = OAuth2Client.from_discovery_document(
        providers.json(), auth=PublicApp(DEMO_APP), redirect_uri=DEMO_REDIRECT, testing=True
    )
    wrong = mixed_up.authorization_request(
        scope="consents:read",
        state=azr.state,
        authorization_response_iss_parameter_supported=True,
    )
    with pytest.raises(MismatchingIssuer):
        wrong.validate_callback(callback)

    response = azr.validate_callback(callback)  # state, and iss == the app server's issuer
    token = oauth.authorization_code(response)
    assert isinstance(token, DPoPToken) and token.kwargs["iss"] == issuer
    consents = requests.get(f"{base}/api/v1/me/consents", auth=token, timeout=20)
    assert consents.status_code == 200, consents.text
    assert consents.json()["consents"]
