"""End to end over HTTP with a third-party OAuth client library (requests-oauth2client), not
our own tools/fapi_client.py: PAR with private_key_jwt and PKCE, the citizen approves, the
code comes back with `iss`, a DPoP-bound token, data with the library's DPoP auth. The same
token as a plain Bearer or with a proof from another key is refused, and so is a
front-channel authorize request that was not pushed."""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import requests
from jwskate import Jwk
from requests_oauth2client import DPoPKey, DPoPToken, OAuth2Client, PrivateKeyJwt

from tests.fixtures.live import LiveService
from tests.provider_api.test_live_provider_flow import (
    AINO,
    CALLBACK,
    citizen_session,
    ensure_demo_password,
    hidden_inputs,
)

OID = "1.2.246.10.3333333.10.7"
NAME = "Kirjasto Klinikka Oy"


def register(live: LiveService) -> tuple[str, Jwk]:
    """A fresh provider client with its own signing key, as a provider would be registered."""
    out = live.manage(
        "register_provider",
        f"--organisation-id={OID}",
        f"--name={NAME}",
        "--kind=care-provider",
        f"--redirect-uri={CALLBACK}",
        "--demo",  # an http loopback callback: only a demo client may have one
    )
    creds = dict(line.split("=", 1) for line in out.split())
    key = Jwk({**json.loads(creds["private_jwk"]), "kid": creds["kid"], "alg": "ES256"})
    return creds["client_id"], key


def test_a_third_party_oauth_library_gets_data_only_with_its_dpop_key(
    live_service: LiveService,
) -> None:
    base = live_service.url
    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    client_id, key = register(live_service)
    # private_key_jwt with the issuer as the audience (FAPI 2.0), as Tahto asks.
    auth = PrivateKeyJwt(client_id, key, alg="ES256", aud=base)
    oauth = OAuth2Client(
        token_endpoint=meta["token_endpoint"],
        auth=auth,
        authorization_endpoint=meta["authorization_endpoint"],
        pushed_authorization_request_endpoint=meta["pushed_authorization_request_endpoint"],
        introspection_endpoint=meta["introspection_endpoint"],
        redirect_uri=CALLBACK,
        issuer=meta["issuer"],
        authorization_response_iss_parameter_supported=True,
        dpop_bound_access_tokens=True,
        testing=True,  # only lifts the library's https-only endpoint check: the live service is
        # served on http loopback; every other check stays on
    )

    # The provider asks Aino for a consent to her diagnoses (the API takes the library's
    # client assertion as a Bearer credential).
    asked = requests.post(
        f"{base}/api/v1/consent-requests",
        headers={"Authorization": f"Bearer {auth.client_assertion(base)}"},
        json={
            "kind": "provider-sharing",
            "scope": {
                "recipient": {"organisation": OID, "name": NAME},
                "dataCategories": ["conditions"],
                "purpose": "care",
            },
            "period": {"end": (datetime.now(UTC) + timedelta(days=30)).isoformat()},
            "subject": {"personalIdentityCode": AINO},
        },
        timeout=10,
    )
    assert asked.status_code == 201, asked.text
    consent_id = asked.json()["consentId"]

    # PAR: the library pushes the request (PKCE S256, authorization_details) and gets a
    # request_uri back.
    azr = oauth.authorization_request(
        scope=None,
        authorization_response_iss_parameter_supported=True,  # a missing `iss` is an error
        authorization_details=json.dumps([{"type": "tahto_consent", "consentId": consent_id}]),
    )
    assert azr.code_challenge_method == "S256" and azr.dpop_key is not None
    pushed = oauth.pushed_authorization_request(azr)
    assert pushed.request_uri.startswith("urn:ietf:params:oauth:request_uri:")

    ensure_demo_password(live_service, "aino")
    aino = citizen_session(base, "aino")

    # The same request sent through the front channel, not pushed, is refused.
    front = aino.get(azr.uri, allow_redirects=False, timeout=10)
    assert front.status_code == 302 and "error=invalid_request" in front.headers["Location"]
    assert "code=" not in front.headers["Location"]

    # Aino opens the pushed request, sees who asks for what, and approves.
    page = aino.get(pushed.uri, timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert NAME in page.text and "Diagnoosit" in page.text
    approved = aino.post(
        meta["authorization_endpoint"],
        data={**hidden_inputs(page.text), "allow": "true"},
        headers={"Referer": pushed.uri},
        allow_redirects=False,
        timeout=10,
    )
    assert approved.status_code == 302, approved.text[:500]
    # The library checks state and that `iss` is this issuer (RFC 9207).
    assert azr.authorization_response_iss_parameter_supported and azr.issuer == base
    response = azr.validate_callback(approved.headers["Location"])
    assert response.code and response.kwargs["iss"] == base

    # The code for a DPoP-bound token, on the key the library generated for the request.
    token = oauth.authorization_code(response)
    assert isinstance(token, DPoPToken)
    assert token.token_type == "DPoP"
    assert token.dpop_key is azr.dpop_key
    assert token.kwargs["authorization_details"][0]["consentId"] == consent_id
    introspected = oauth.introspect_token(token.access_token)
    assert introspected["active"] is True and introspected["consent_id"] == consent_id
    assert introspected["cnf"]["jkt"] == azr.dpop_key.dpop_jkt

    # Data with the library's DPoP auth: a fresh proof (htm, htu, ath) on every call.
    data_url = f"{base}/api/v1/data/Condition"
    headers = {"Consent-ID": consent_id}
    conditions = requests.get(data_url, auth=token, headers=headers, timeout=20)
    assert conditions.status_code == 200, conditions.text
    bundle = conditions.json()
    assert bundle["total"] >= 1
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Condition"}

    # The same token without a proof, as a plain Bearer: refused.
    bearer = requests.get(
        data_url,
        headers={"Authorization": f"Bearer {token.access_token}", **headers},
        timeout=10,
    )
    assert bearer.status_code == 401 and bearer.headers["WWW-Authenticate"].startswith("DPoP")

    # The same token with a valid proof from another key: refused.
    # (The proof is sent by hand: the library's auth would read a 401 as a nonce request.)
    ath = base64.urlsafe_b64encode(hashlib.sha256(token.access_token.encode()).digest())
    proof = DPoPKey.generate("ES256").proof(htm="GET", htu=data_url, ath=ath.decode().rstrip("="))
    stolen = requests.get(
        data_url,
        headers={"Authorization": f"DPoP {token.access_token}", "DPoP": str(proof), **headers},
        timeout=10,
    )
    assert stolen.status_code == 401, stolen.text

    # And the rightful key still works after those attempts.
    again = requests.get(data_url, auth=token, headers=headers, timeout=20)
    assert again.status_code == 200, again.text
