"""Replay records (jti of client JWTs and DPoP proofs) on PostgreSQL with real commits: one
use each across connections, committed without waiting for the disk outside a transaction,
and never making a caller's own transaction commit that way."""

import datetime as dt
import uuid

import pytest
from django.db import connection, transaction

from mydata_operator.security.models import DpopProofUse
from mydata_operator.security.replay import first_use
from tests.services.conftest import other_connection

pytestmark = pytest.mark.services


def _record(jti: str) -> bool:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    return first_use(DpopProofUse, jkt="k" * 43, jti=jti, expires_at=expires)


def test_a_record_is_seen_by_another_connection_at_once_and_a_second_use_is_refused(
    committed_db: None,
) -> None:
    jti = uuid.uuid4().hex
    assert _record(jti) is True
    with other_connection() as other:
        seen = other.execute(
            "SELECT count(*) FROM provider_api_dpopproofuse WHERE jti = %s", [jti]
        ).fetchone()
        assert seen == (1,)
        # Another process trying the same jti: refused by the unique constraint.
        inserted = other.execute(
            "INSERT INTO provider_api_dpopproofuse (jkt, jti, expires_at) "
            "VALUES (%s, %s, now()) ON CONFLICT DO NOTHING",
            ["k" * 43, jti],
        ).rowcount
        assert inserted == 0
    assert _record(jti) is False


def test_the_asynchronous_commit_ends_with_the_record(committed_db: None) -> None:
    _record(uuid.uuid4().hex)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone() == ("on",)


def test_inside_a_transaction_the_record_commits_with_it_synchronously(
    committed_db: None,
) -> None:
    with transaction.atomic():
        assert _record(uuid.uuid4().hex) is True
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('synchronous_commit')")
            assert cursor.fetchone() == ("on",)  # a logged decision's commit stays durable


def test_a_client_jwt_is_used_once_with_real_commits(committed_db: None) -> None:
    """The client check's one statement (key in force, jti, client) outside a transaction."""
    import time

    from joserfc import jwt
    from joserfc.jwk import ECKey
    from oauth2_provider.models import Application

    from mydata_operator.provider_api.client_keys import (
        ClientJwtInvalid,
        client_jwt_verify,
        client_keys_register,
    )

    app = Application.objects.create(
        name="replay",
        client_id=f"replay-{uuid.uuid4().hex[:8]}",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://provider.example/callback",
    )
    key = ECKey.generate_key("P-256", parameters={"kid": "r1"})
    client_keys_register(application=app, jwks={"keys": [key.as_dict(private=False)]})
    now = int(time.time())
    claims = {"iss": app.client_id, "sub": app.client_id, "aud": "http://testserver"}
    token = jwt.encode(
        {"alg": "ES256", "kid": "r1"},
        {**claims, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex},
        key,
    )
    assert client_jwt_verify(token, audiences=("http://testserver",)).application.pk == app.pk
    with pytest.raises(ClientJwtInvalid) as err:
        client_jwt_verify(token, audiences=("http://testserver",))
    assert err.value.field == "jti"
