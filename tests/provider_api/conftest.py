"""Fixtures for the provider API: registered provider clients and the OAuth dance in-process."""

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse
from uuid import UUID

import pytest
from django.test import Client
from oauth2_provider.models import Application

from consents import services
from consents.models import Consent
from mydata_operator.identity.models import Person, Provider
from tests.conftest import COUNTY_OID, PROVIDER_OID, provider_sharing_scope

REDIRECT = "https://provider.example/callback"
SECRET = "provider-secret-terveys"
OTHER_SECRET = "provider-secret-county"


@dataclass
class ProviderClient:
    provider: Provider
    client_id: str
    secret: str

    @property
    def basic(self) -> str:
        raw = f"{self.client_id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()


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
    return ProviderClient(provider, client_id, secret)


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


def authorize(
    browser: Client, client_id: str, consent_id: Any, *, allow: bool = True, **overrides: Any
) -> Authorized:
    """Go through the authorize page as the signed-in citizen; return the code."""
    verifier, challenge = pkce()
    page = browser.get(
        "/o/authorize/", authorize_params(client_id, consent_id, challenge, **overrides)
    )
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


def token_request(client: Client, pc: ProviderClient, **data: str) -> Any:
    return client.post("/o/token/", data, HTTP_AUTHORIZATION=pc.basic)


def exchange(client: Client, pc: ProviderClient, auth: Authorized, **overrides: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": auth.code,
        "redirect_uri": REDIRECT,
        "code_verifier": auth.verifier,
        **overrides,
    }
    return token_request(client, pc, **{k: v for k, v in data.items() if v is not None})


@pytest.fixture
def citizen_browser(citizen: Person) -> Client:
    browser = Client()
    assert citizen.user is not None
    browser.force_login(citizen.user)
    return browser
