"""manage.py register_provider: a confidential client bound to an organisation."""

import json
import time
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from joserfc import jwt
from joserfc.jwk import ECKey
from oauth2_provider.models import Application

from mydata_operator.identity.models import Provider
from mydata_operator.provider_api.client_keys import client_jwt_verify
from mydata_operator.provider_api.models import ClientKey


def register(*extra: str) -> dict[str, str]:
    out = StringIO()
    call_command(
        "register_provider",
        "--organisation-id=1.2.246.10.1111111.10.0",
        "--name=Uusi Klinikka",
        "--kind=care-provider",
        "--redirect-uri=https://klinikka.example/cb",
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return dict(line.split("=", 1) for line in out.getvalue().split())


def test_register_provider_prints_a_private_key_whose_public_half_authenticates(
    db: object,
) -> None:
    creds = register()
    app = Application.objects.get(client_id=creds["client_id"])
    assert app.client_type == Application.CLIENT_CONFIDENTIAL
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert app.redirect_uris == "https://klinikka.example/cb"
    assert "client_secret" not in creds  # no shared secret to leak
    private = ECKey.import_key(json.loads(creds["private_jwk"]))
    stored = ClientKey.objects.get(application=app)
    assert "d" not in stored.jwk and stored.kid == creds["kid"]
    now = int(time.time())
    assertion = jwt.encode(
        {"alg": "ES256", "kid": creds["kid"]},
        {
            "iss": app.client_id,
            "sub": app.client_id,
            "aud": settings.TAHTO_PUBLIC_URL,
            "iat": now,
            "exp": now + 60,
            "jti": "once",
        },
        private,
    )
    verified = client_jwt_verify(assertion, audiences=(settings.TAHTO_PUBLIC_URL,))
    assert verified.application == app
    assert Provider.objects.get(application=app).kind == "care-provider"


def test_a_plain_http_redirect_uri_is_refused_unless_demo_on_loopback(db: object) -> None:
    with pytest.raises(CommandError, match="https"):
        register("--redirect-uri=http://klinikka.example/cb")


def test_registering_the_same_organisation_twice_fails(db: object) -> None:
    register()
    with pytest.raises(CommandError, match="already registered"):
        register()


def test_redirect_uri_with_a_fragment_is_refused(db: object) -> None:
    with pytest.raises(CommandError):
        register("--redirect-uri=https://klinikka.example/cb#x")
