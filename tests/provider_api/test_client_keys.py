"""A client's registered keys and the one check of a JWT it signs (private_key_jwt, CDS Hooks)."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from oauth2_provider.models import Application

from mydata_operator.provider_api.client_keys import (
    ClientJwtInvalid,
    client_jwt_uses_prune,
    client_jwt_verify,
    client_keys_register,
)
from mydata_operator.provider_api.models import ClientJwtUse

AUD = "http://testserver"


@pytest.fixture
def app(db: Any) -> Application:
    return Application.objects.create(
        name="keyed",
        client_id="keyed-client",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://provider.example/callback",
    )


@pytest.fixture
def key(app: Application) -> ECKey:
    private = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    client_keys_register(application=app, jwks={"keys": [private.as_dict(private=False)]})
    return private


def assertion(private: Any, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "keyed-client",
        "sub": "keyed-client",
        "aud": AUD,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, private)


def test_a_jwt_signed_with_the_registered_key_verifies(key: ECKey) -> None:
    verified = client_jwt_verify(assertion(key), audiences=(AUD,))
    assert verified.application.client_id == "keyed-client"
    assert verified.kid == "k1"


def test_the_same_jwt_twice_is_a_replay(key: ECKey) -> None:
    token = assertion(key)
    client_jwt_verify(token, audiences=(AUD,))
    with pytest.raises(ClientJwtInvalid) as err:
        client_jwt_verify(token, audiences=(AUD,))
    assert err.value.field == "jti"


def test_another_key_of_the_same_kid_does_not_verify(key: ECKey) -> None:
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    with pytest.raises(ClientJwtInvalid) as err:
        client_jwt_verify(assertion(stranger), audiences=(AUD,))
    assert err.value.field == "signature"


def test_wrong_audience_expired_and_long_lived_jwts_are_refused(key: ECKey) -> None:
    now = int(time.time())
    for claims, field in (
        ({"aud": "https://elsewhere.example"}, "aud"),
        ({"iat": now - 600, "exp": now - 100}, "exp"),
        ({"exp": now + 3600}, "exp"),
        ({"sub": "someone-else"}, "sub"),
        ({"jti": None}, "jti"),
    ):
        with pytest.raises(ClientJwtInvalid) as err:
            client_jwt_verify(assertion(key, **claims), audiences=(AUD,))
        assert err.value.field == field, claims


def test_the_request_client_id_must_agree_with_iss(key: ECKey) -> None:
    with pytest.raises(ClientJwtInvalid) as err:
        client_jwt_verify(assertion(key), audiences=(AUD,), client_id="other-client")
    assert err.value.field == "iss"


def test_a_mac_signed_jwt_is_refused_even_with_the_public_key_as_secret(
    app: Application, key: ECKey
) -> None:
    forged = jwt.encode(
        {"alg": "HS256", "kid": "k1"},
        {"iss": "keyed-client", "sub": "keyed-client", "aud": AUD, "exp": int(time.time()) + 60},
        OctKey.import_key(b"x" * 32),
    )
    with pytest.raises(ClientJwtInvalid) as err:
        client_jwt_verify(forged, audiences=(AUD,))
    assert err.value.field == "alg"


def test_private_key_material_cannot_be_registered(app: Application) -> None:
    private = RSAKey.generate_key(2048)
    with pytest.raises(ValueError, match="private key material"):
        client_keys_register(application=app, jwks={"keys": [private.as_dict(private=True)]})


def test_expired_jtis_are_pruned(key: ECKey) -> None:
    client_jwt_verify(assertion(key), audiences=(AUD,))
    assert ClientJwtUse.objects.count() == 1
    assert client_jwt_uses_prune(now=datetime.now(UTC) + timedelta(hours=1)) == 1
    assert not ClientJwtUse.objects.exists()


# --- The process keeps parsed keys; the one statement still checks each use -------------------


def test_a_key_retired_after_use_is_refused_at_once(key: ECKey) -> None:
    """The parsed key is kept by the process, but retiring it (by any process: here a plain
    UPDATE, as another web process's staff action would do) stops it at the next JWT."""
    from mydata_operator.provider_api.models import ClientKey

    client_jwt_verify(assertion(key), audiences=(AUD,))  # now kept by this process
    ClientKey.objects.filter(kid="k1").update(retired_at=datetime.now(UTC))
    with pytest.raises(ClientJwtInvalid) as err:
        client_jwt_verify(assertion(key), audiences=(AUD,))
    assert err.value.field == "kid"
    assert ClientJwtUse.objects.count() == 1  # the refused JWT's jti was not recorded


def test_a_key_replaced_under_the_same_kid_stops_the_old_and_admits_the_new(
    app: Application, key: ECKey
) -> None:
    client_jwt_verify(assertion(key), audiences=(AUD,))  # the old key, kept by this process
    new = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    client_keys_register(application=app, jwks={"keys": [new.as_dict(private=False)]})
    with pytest.raises(ClientJwtInvalid) as err:
        client_jwt_verify(assertion(key), audiences=(AUD,))
    assert err.value.field == "kid"  # it verifies with the kept old key; the statement refuses
    assert client_jwt_verify(assertion(new), audiences=(AUD,)).kid == "k1"


def test_the_provider_is_read_with_each_use_not_kept(app: Application, key: ECKey) -> None:
    """A staff change of the provider's organisation id shows in the very next call."""
    from mydata_operator.identity.models import Provider

    provider = Provider.objects.create(
        organisation_id="1.2.246.10.1.1", name="Keyed Oy", kind="care-provider", application=app
    )
    assert client_jwt_verify(assertion(key), audiences=(AUD,)).provider == provider
    Provider.objects.filter(pk=provider.pk).update(organisation_id="1.2.246.10.1.2")
    verified = client_jwt_verify(assertion(key), audiences=(AUD,))
    assert verified.provider is not None
    assert verified.provider.organisation_id == "1.2.246.10.1.2"
    assert verified.application.pk == app.pk


def test_a_replayed_jti_is_refused_with_the_kept_key(key: ECKey) -> None:
    token = assertion(key)
    client_jwt_verify(assertion(key), audiences=(AUD,))  # the key is kept
    client_jwt_verify(token, audiences=(AUD,))
    with pytest.raises(ClientJwtInvalid) as err:
        client_jwt_verify(token, audiences=(AUD,))
    assert err.value.field == "jti"


def test_a_retired_key_cannot_be_registered_again(app: Application, key: ECKey) -> None:
    """Retiring is a logged staff action; registering (a management command) must not undo
    it silently, with the same key or another under the same kid."""
    from mydata_operator.provider_api.models import ClientKey

    ClientKey.objects.filter(kid="k1").update(retired_at=datetime.now(UTC))
    for again in (key, ECKey.generate_key("P-256", parameters={"kid": "k1"})):
        with pytest.raises(ValueError, match="retired"):
            client_keys_register(application=app, jwks={"keys": [again.as_dict(private=False)]})
    assert ClientKey.objects.get(kid="k1").retired_at is not None
    with pytest.raises(ClientJwtInvalid):
        client_jwt_verify(assertion(key), audiences=(AUD,))
