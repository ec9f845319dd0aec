"""Fixtures for the provider API: registered provider clients and the OAuth dance in-process,
at FAPI 2.0: private_key_jwt client authentication, PAR, PKCE, DPoP-bound tokens.

This is the one place that knows the dance; tests call `authorize`, `exchange`,
`token_request`, `data_get` and `ProviderClient.auth_header`/`assertion_form`."""

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse
from uuid import UUID

import pytest
from django.conf import settings
from django.test import Client
from joserfc import jwt
from joserfc.jwk import ECKey
from oauth2_provider.models import Application

from consents import services
from consents.models import Consent
from mydata_operator.identity.models import Person, Provider
from mydata_operator.provider_api.client_keys import ASSERTION_TYPE, client_keys_register
from mydata_operator.security.dpop import access_token_hash
from tests.conftest import COUNTY_OID, PROVIDER_OID, provider_sharing_scope

REDIRECT = "https://provider.example/callback"
SECRET = "provider-secret-terveys"
OTHER_SECRET = "provider-secret-county"


def new_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


@dataclass
class DpopKey:
    """A client's DPoP key pair, making proofs (RFC 9449 §4)."""

    key: ECKey = field(default_factory=new_key)

    @property
    def jkt(self) -> str:
        return str(self.key.thumbprint())

    def proof(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        nonce: str | None = None,
        iat: float | None = None,
        **claims: Any,
    ) -> str:
        body: dict[str, Any] = {
            "htm": method,
            "htu": url if url.startswith("http") else f"http://testserver{url}",
            "iat": int(iat if iat is not None else time.time()),
            "jti": secrets.token_urlsafe(16),
        }
        if token is not None:
            body["ath"] = access_token_hash(token)
        if nonce is not None:
            body["nonce"] = nonce
        body.update(claims)
        header = {"alg": "ES256", "typ": "dpop+jwt", "jwk": self.key.as_dict(private=False)}
        return jwt.encode(header, body, self.key)


@dataclass
class ProviderClient:
    provider: Provider
    client_id: str
    secret: str
    key: ECKey = field(default_factory=new_key)
    dpop: DpopKey = field(default_factory=DpopKey)

    def assertion(self, *, aud: str | None = None, **claims: Any) -> str:
        """A private_key_jwt client assertion (RFC 7523), fresh each time."""
        now = int(time.time())
        body = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": aud or settings.TAHTO_PUBLIC_URL,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
            **claims,
        }
        return jwt.encode({"alg": "ES256", "kid": "k1"}, body, self.key)

    def assertion_form(self, **claims: Any) -> dict[str, str]:
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(**claims),
        }

    @property
    def auth_header(self) -> str:
        """For provider-level API calls: a client-signed JWT as the Bearer credential."""
        return f"Bearer {self.assertion()}"

    @property
    def basic(self) -> str:
        """The shared secret as HTTP Basic: refused everywhere now (kept to test that)."""
        raw = f"{self.client_id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


#: The client objects of this test, by client id (so helpers take a client id too).
CLIENTS: dict[str, ProviderClient] = {}


def make_client(provider: Provider, client_id: str, secret: str) -> ProviderClient:
    app = Application.objects.create(
        client_id=client_id,
        client_secret=secret,
        name=provider.name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT,
        algorithm="",
    )
    provider.application = app
    provider.save()
    pc = ProviderClient(provider, client_id, secret)
    public = dict(pc.key.as_dict(private=False), kid="k1")
    client_keys_register(application=app, jwks={"keys": [public]})
    CLIENTS[client_id] = pc
    return pc


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    """Client secrets are hashed like passwords; a fast hasher keeps these tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def provider_client(provider: Provider) -> ProviderClient:
    return make_client(provider, "terveys-oy", SECRET)


@pytest.fixture
def other_provider_client(db: Any) -> ProviderClient:
    county = Provider.objects.create(
        organisation_id=COUNTY_OID, name="Demo county", kind=Provider.Kind.WELLBEING_COUNTY
    )
    return make_client(county, "demo-county", OTHER_SECRET)


def request_consent(subject: Person, now: datetime, **scope: Any) -> Consent:
    return services.consent_request(
        subject_id=subject.id,
        requester=PROVIDER_OID,
        kind="provider-sharing",
        scope=provider_sharing_scope(**scope),
        valid_until=now + timedelta(days=90),
    )


@pytest.fixture
def consent_request(citizen: Person, frozen_now: datetime) -> Consent:
    return request_consent(citizen, frozen_now)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def details(consent_id: UUID | str, **extra: Any) -> str:
    return json.dumps([{"type": "tahto_consent", "consentId": str(consent_id), **extra}])


@dataclass
class Authorized:
    code: str
    verifier: str
    location: str


def authorize_params(
    client_id: str, consent_id: Any, challenge: str, **overrides: Any
) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "st-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "authorization_details": details(consent_id),
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def _client(client: "ProviderClient | str") -> ProviderClient:
    return client if isinstance(client, ProviderClient) else CLIENTS[client]


def push(client: "ProviderClient | str", params: dict[str, str]) -> Any:
    """POST the authorization request to /o/par (RFC 9126) with private_key_jwt."""
    pc = _client(client)
    return Client().post("/o/par", {**params, **pc.assertion_form()})


def pushed_query(client: "ProviderClient | str", params: dict[str, str]) -> dict[str, str]:
    """Push the request; return the front-channel query of /o/authorize (client_id, request_uri)."""
    pc = _client(client)
    answer = push(pc, params)
    assert answer.status_code == 201, answer.content[:2000]
    return {"client_id": pc.client_id, "request_uri": answer.json()["request_uri"]}


def authorize(
    browser: Client,
    client: "ProviderClient | str",
    consent_id: Any,
    *,
    allow: bool = True,
    **overrides: Any,
) -> Authorized:
    """Push the request, go through the authorize page as the signed-in citizen; return the code."""
    verifier, challenge = pkce()
    pc = _client(client)
    front = pushed_query(pc, authorize_params(pc.client_id, consent_id, challenge, **overrides))
    page = browser.get("/o/authorize/", front)
    assert page.status_code == 200, page.content[:2000]
    form = page.context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    if allow:
        data["allow"] = "true"
    answer = browser.post("/o/authorize/", data)
    assert answer.status_code == 302, answer.content[:2000]
    query = parse_qs(urlparse(answer["Location"]).query)
    return Authorized(
        code=query.get("code", [""])[0], verifier=verifier, location=answer["Location"]
    )


def token_request(
    client: Client, pc: ProviderClient, *, dpop: DpopKey | None = None, **data: str
) -> Any:
    """POST /o/token/ with private_key_jwt and a DPoP proof (of `dpop`, default the client's)."""
    key = dpop or pc.dpop
    answer = client.post(
        "/o/token/", {**data, **pc.assertion_form()}, HTTP_DPOP=key.proof("POST", "/o/token/")
    )
    if answer.status_code == 200:
        TOKEN_KEYS[answer.json()["access_token"]] = key
    return answer


#: The DPoP key each access token issued in this test is bound to.
TOKEN_KEYS: dict[str, DpopKey] = {}


def bound_headers(token: str, method: str, path: str) -> dict[str, Any]:
    """Authorization: DPoP and a fresh proof with the key the token was issued to (a new key
    for a token this test did not get from /o/token/)."""
    key = TOKEN_KEYS.get(token) or DpopKey()
    proof = key.proof(method, path.split("?", 1)[0], token=token)
    return {"HTTP_AUTHORIZATION": f"DPoP {token}", "HTTP_DPOP": proof}


def data_get(
    client: Client,
    pc: ProviderClient,
    path: str,
    token: str,
    *,
    dpop: DpopKey | None = None,
    **extra: Any,
) -> Any:
    """GET a data URL with the DPoP-bound token and a fresh proof of the client's key."""
    proof = (dpop or pc.dpop).proof("GET", path.split("?", 1)[0], token=token)
    return client.get(path, HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof, **extra)


def exchange(client: Client, pc: ProviderClient, auth: Authorized, **overrides: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": auth.code,
        "redirect_uri": REDIRECT,
        "code_verifier": auth.verifier,
        **overrides,
    }
    fields: dict[str, Any] = {k: v for k, v in data.items() if v is not None}
    return token_request(client, pc, **fields)


def dpop_headers(pc: ProviderClient, method: str, path: str, token: str) -> dict[str, Any]:
    """The headers of a DPoP-bound data call (for callers that build the request themselves)."""
    proof = pc.dpop.proof(method, path, token=token)
    return {"HTTP_AUTHORIZATION": f"DPoP {token}", "HTTP_DPOP": proof}


@pytest.fixture
def citizen_browser(citizen: Person, frozen_now: datetime) -> Client:
    """The citizen, signed in (so with a fresh step-up) on the frozen clock."""
    browser = Client()
    assert citizen.user is not None
    browser.force_login(citizen.user)
    return browser
