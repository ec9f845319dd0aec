"""End to end over HTTP at FAPI 2.0: a provider client (tools/fapi_client.py: PAR,
private_key_jwt, PKCE, DPoP; Authlib has no DPoP) and a citizen (a browser-like session)
against the running service with demo data and the Kanta stand-in."""

import importlib.util
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from joserfc.jwk import ECKey

from schemas.hetu import make_hetu
from tests.fixtures.live import LiveService

_spec = importlib.util.spec_from_file_location(
    "fapi_client", Path(__file__).resolve().parents[2] / "tools" / "fapi_client.py"
)
assert _spec and _spec.loader
fapi_client = importlib.util.module_from_spec(_spec)
sys.modules["fapi_client"] = fapi_client
_spec.loader.exec_module(fapi_client)

OID = "1.2.246.10.3333333.10.0"
CALLBACK = "http://127.0.0.1:9/callback"  # never served: the redirect is read, not followed
AINO = make_hetu(date(1985, 4, 12), 902)


def hidden_inputs(html: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = (
                (value.group(1) if value else "")
                .replace("&quot;", '"')
                .replace("&#x27;", "'")
                .replace("&amp;", "&")
            )
    return fields


def ensure_demo_password(live: LiveService, username: str) -> None:
    """demo_data leaves get_or_create'd users with an empty (so "usable") password and never
    sets the documented one; set it here until demo_data does (reported)."""
    code = (
        "from django.contrib.auth import get_user_model as g; u = g().objects.get(username={0!r});"
        "ok = u.check_password({1!r}); ok or (u.set_password({1!r}), u.save())"
    ).format(username, f"tahto-demo-{username}")
    live.manage("shell", "-c", code)


def citizen_session(base: str, username: str) -> requests.Session:
    """Log in through the real login form, CSRF and all."""
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    assert page.status_code == 200
    token = hidden_inputs(page.text)["csrfmiddlewaretoken"]
    done = session.post(
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": f"tahto-demo-{username}",
            "csrfmiddlewaretoken": token,
        },
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 302, done.text[done.text.find("error-summary") :][:800]
    return session


def register(live: LiveService) -> Any:
    out = live.manage(
        "register_provider",
        f"--organisation-id={OID}",
        "--name=Live Klinikka Oy",
        "--kind=care-provider",
        f"--redirect-uri={CALLBACK}",
        "--demo",  # an http loopback callback: only a demo client may have one
    )
    creds = dict(line.split("=", 1) for line in out.split())
    key = ECKey.import_key(json.loads(creds["private_jwk"]))
    return fapi_client.FapiClient(
        base=live.url, client_id=creds["client_id"], key=key, kid=creds["kid"]
    )


def test_provider_gets_narrowed_data_until_the_citizen_withdraws(live_service: LiveService) -> None:
    base = live_service.url
    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["issuer"] == base
    assert meta["require_pushed_authorization_requests"] is True
    client = register(live_service)

    # 1. The provider asks Aino for a consent to her diagnoses only.
    asked = requests.post(
        f"{base}/api/v1/consent-requests",
        headers={"Authorization": f"Bearer {client.assertion()}"},
        json={
            "kind": "provider-sharing",
            "scope": {
                "recipient": {"organisation": OID, "name": "Live Klinikka Oy"},
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
    assert asked.json()["consentStatus"] == "received"

    # 2. The authorization request (PKCE S256, authorization_details) is pushed; a
    #    front-channel request without it is refused.
    url, verifier = client.push(redirect_uri=CALLBACK, consent_id=consent_id)

    # 3. Aino signs in, reads who asks for what, and approves.
    ensure_demo_password(live_service, "aino")
    aino = citizen_session(base, "aino")
    front = aino.get(
        meta["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": CALLBACK,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "authorization_details": json.dumps(
                [{"type": "tahto_consent", "consentId": consent_id}]
            ),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert front.status_code == 302 and "error=invalid_request" in front.headers["Location"]
    page = aino.get(url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert "Live Klinikka Oy" in page.text and "Diagnoosit" in page.text
    form = hidden_inputs(page.text)
    approved = aino.post(
        meta["authorization_endpoint"],
        data={**form, "allow": "true"},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=10,
    )
    assert approved.status_code == 302, approved.text[:500]
    location = approved.headers["Location"]
    assert (
        location.startswith(CALLBACK) and f"iss={requests.utils.quote(base, safe='')}" in location
    )

    # 4. Code for a DPoP-bound token, with the verifier and private_key_jwt.
    token: dict[str, Any] = client.exchange(
        redirect_url=location, redirect_uri=CALLBACK, verifier=verifier
    )
    assert token["token_type"] == "DPoP"
    assert token["authorization_details"][0]["consentId"] == consent_id
    assert token["expires_in"] == 300
    access = token["access_token"]

    # 5. Data, narrowed to the consent; only with a proof of the client's DPoP key.
    headers = {"Consent-ID": consent_id}
    conditions = client.get("/api/v1/data/Condition", access, headers=headers)
    assert conditions.status_code == 200, conditions.text
    bundle = conditions.json()
    assert bundle["total"] >= 1
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Condition"}
    medications = client.get("/api/v1/data/MedicationStatement", access, headers=headers)
    assert medications.status_code == 403
    assert medications.json()["reason"] == "categories-not-covered"
    stolen = requests.get(
        f"{base}/api/v1/data/Condition",
        headers={"Authorization": f"Bearer {access}", **headers},
        timeout=10,
    )
    assert stolen.status_code == 401 and stolen.headers["WWW-Authenticate"].startswith("DPoP")
    thief = fapi_client.FapiClient(base=base, client_id=client.client_id, key=client.key)
    assert thief.get("/api/v1/data/Condition", access, headers=headers).status_code == 401
    introspected = requests.post(
        meta["introspection_endpoint"], data={"token": access, **client.auth_form()}, timeout=10
    ).json()
    assert introspected["active"] is True and introspected["consent_id"] == consent_id
    assert introspected["cnf"]["jkt"] == client.dpop_key.thumbprint()

    # 6. Aino withdraws; the very next call is refused.
    withdrawn = aino.post(
        f"{base}/api/v1/me/consents/{consent_id}/withdraw",
        json={},
        headers={"X-CSRFToken": aino.cookies.get("csrftoken") or "", "Referer": base + "/"},
        timeout=10,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    refused = client.get("/api/v1/data/Condition", access, headers=headers)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "withdrawn"
    status = requests.get(
        f"{base}/api/v1/consent-requests/{consent_id}/status",
        headers={"Authorization": f"Bearer {client.assertion()}"},
        timeout=10,
    ).json()
    assert status == {"consentStatus": "withdrawn"}
