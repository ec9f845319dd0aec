"""A provider client's registered public keys, and the one check of a JWT a client signed.

Used wherever a machine proves who it is with its own key instead of a shared secret:
`private_key_jwt` client authentication at the token, PAR and introspection endpoints
(RFC 7523 §2.2, FAPI 2.0 Security Profile §5.3.1.2), and the CDS Hooks decision service,
whose clients send `Authorization: Bearer <JWT>` signed the same way (CDS Hooks 2.0,
"Trusting CDS Clients"). One function, `client_jwt_verify`, so the rules are the same
everywhere:

- the signing algorithm is one FAPI 2.0 allows (PS256, ES256, EdDSA/Ed25519), never `none`
  or a MAC;
- the key is one the client registered (by `kid`, or the only one it has) and not retired;
- `iss` is the client id (and `sub` too, for client assertions);
- `aud` names us (the issuer URL or the exact endpoint URL the caller passes);
- `exp` is in the future, `iat` not in the future, and the lifetime at most
  TAHTO_CLIENT_JWT_MAX_SECONDS;
- `jti` is used once: it is stored until the JWT expires, so a replay is refused even by
  another process.

Verification costs one statement and no password hash. A process keeps each client key it
has parsed (`_KEYS`, by client id and kid), verifies the signature with it, and then one
statement (`_confirm_and_record`) confirms that this very key is still registered and not
retired, records the `jti` only if it is, and reads the client and its provider. So a key
retired or replaced by any process stops verifying at once, everywhere: the cache saves the
parsing and the reads, never the check.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, KeySet
from oauth2_provider.models import Application

from mydata_operator.identity.models import Provider
from mydata_operator.security.dpop import ALLOWED_ALGS
from mydata_operator.security.jws import unverified_parts
from mydata_operator.security.replay import first_use, replay_statement

from .binding import model_from_row
from .models import ClientJwtUse, ClientKey

#: What FAPI 2.0 allows for signatures (Security Profile §5.4.1), by JWS name.

#: RFC 7523 §2.2: the client_assertion_type of private_key_jwt.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ClientJwtInvalid(ValueError):
    """The JWT is not one this client signed for us, now, once. `field` names what was wrong."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class VerifiedClientJwt:
    application: Application
    claims: dict[str, Any]
    kid: str
    provider: Provider | None = None  # the client's provider (None: a citizen app's client)


@dataclass(frozen=True)
class _Key:
    """A registered key as this process parsed it."""

    application_id: int
    kid: str
    jwk: dict[str, Any]  # as registered: the confirming statement compares it
    key: Any  # the joserfc key


#: Parsed keys by (client id, kid). Bounded: a flood of unknown kids cannot grow it, as only
#: registered keys enter, and it is emptied when it reaches _KEYS_MAX.
_KEYS: dict[tuple[str, str], _Key] = {}
_KEYS_MAX = 10_000
_KEYS_LOCK = threading.Lock()


def _keys_forget(issuer: str, kid: str) -> None:
    with _KEYS_LOCK:
        _KEYS.pop((issuer, kid), None)


def _key_load(issuer: str, kid: str | None) -> _Key:
    """The client's key in force for this kid (or its only key when the JWT names none), read
    from the database and parsed; kept for later calls when the JWT names its kid."""
    application = Application.objects.filter(client_id=issuer).only("pk").first()
    if application is None:
        raise ClientJwtInvalid("unknown client", field="iss")
    rows = list(ClientKey.objects.filter(application=application, retired_at__isnull=True))
    if kid is not None:
        rows = [row for row in rows if row.kid == kid]
    elif len(rows) != 1:
        rows = []
    if not rows:
        raise ClientJwtInvalid(
            "no registered key of this client matches the JWT's kid", field="kid"
        )
    row = rows[0]
    try:
        parsed = JWKRegistry.import_key(row.jwk)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ClientJwtInvalid(f"the registered key {row.kid} is not usable", field="kid") from exc
    entry = _Key(application_id=application.pk, kid=row.kid, jwk=row.jwk, key=parsed)
    if kid is not None:
        with _KEYS_LOCK:
            if len(_KEYS) >= _KEYS_MAX:
                _KEYS.clear()
            _KEYS[(issuer, kid)] = entry
    return entry


_APP_FIELDS = [f for f in Application._meta.concrete_fields]
_PROVIDER_FIELDS = [f for f in Provider._meta.concrete_fields]


@functools.cache
def _confirm_sql() -> str:
    """`_confirm_and_record`'s PostgreSQL statement, built once (names from the models)."""
    q = connection.ops.quote_name
    app_cols = ", ".join(f"a.{q(f.column)}" for f in _APP_FIELDS)
    provider_cols = ", ".join(f"p.{q(f.column)}" for f in _PROVIDER_FIELDS)
    return f"""
        WITH k AS (
            SELECT application_id FROM {q(ClientKey._meta.db_table)}
            WHERE application_id = %s AND kid = %s AND retired_at IS NULL AND jwk = %s::jsonb
        ), u AS (
            INSERT INTO {q(ClientJwtUse._meta.db_table)} (application_id, jti, expires_at)
            SELECT application_id, %s, %s FROM k
            ON CONFLICT DO NOTHING RETURNING 1
        )
        SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM u), {app_cols}, {provider_cols}
        FROM {q(Application._meta.db_table)} a
        LEFT JOIN {q(Provider._meta.db_table)} p ON p.application_id = a.id
        WHERE a.id = %s
    """  # noqa: S608 - table and column names from the models


def _confirm_and_record(
    key: _Key, *, jti: str, expires_at: dt.datetime
) -> tuple[bool, bool, Application | None, Provider | None]:
    """One statement on PostgreSQL: is `key` still registered, unchanged and not retired;
    record the jti (only if so; False if this client used it before; committed as
    `security.replay` commits replay records); and the client with its provider. Elsewhere
    (SQLite) the same as three statements."""
    if connection.vendor != "postgresql":
        in_force = (
            ClientKey.objects.filter(
                application_id=key.application_id, kid=key.kid, retired_at__isnull=True
            )
            .values_list("jwk", flat=True)
            .first()
            == key.jwk
        )
        fresh = in_force and first_use(
            ClientJwtUse, application=key.application_id, jti=jti, expires_at=expires_at
        )
        application = Application.objects.filter(pk=key.application_id).first()
        provider = Provider.objects.filter(application_id=key.application_id).first()
        return in_force, fresh, application, provider
    params: list[Any] = [key.application_id, key.kid, json.dumps(key.jwk), jti, expires_at]
    sql, prefixed = replay_statement(_confirm_sql())
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, key.application_id])
        if prefixed:
            cursor.nextset()
        row = cursor.fetchone()
    if row is None:
        return False, False, None, None
    in_force, fresh = bool(row[0]), bool(row[1])
    app_values = row[2 : 2 + len(_APP_FIELDS)]
    provider_values = row[2 + len(_APP_FIELDS) :]
    application = model_from_row(Application, _APP_FIELDS, app_values)
    provider = (
        model_from_row(Provider, _PROVIDER_FIELDS, provider_values)
        if provider_values[0] is not None
        else None
    )
    return in_force, fresh, application, provider


def client_keys_register(*, application: Application, jwks: dict[str, Any]) -> list[ClientKey]:
    """Register the public keys of a JWK Set for a client; a private key is refused, and so
    is a kid the client's key was retired under (retiring is logged; bringing back is not)."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError("jwks must be a JWK Set: an object with a non-empty 'keys' list")
    made = []
    with transaction.atomic():
        for index, key in enumerate(keys):
            if not isinstance(key, dict):
                raise ValueError(f"jwks.keys[{index}] is not an object")
            if any(private in key for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
                raise ValueError(
                    f"jwks.keys[{index}] holds private key material; send only the public key"
                )
            try:
                imported = KeySet.import_key_set({"keys": [key]}).keys[0]
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"jwks.keys[{index}] is not a usable JWK: {exc}") from exc
            kid = str(key.get("kid") or imported.thumbprint())
            retired = ClientKey.objects.filter(
                application=application, kid=kid, retired_at__isnull=False
            ).first()
            if retired is not None:  # retired by a logged staff action: never silently back
                raise ValueError(
                    f"jwks.keys[{index}]: the key {kid} was retired on "
                    f"{retired.retired_at:%Y-%m-%d}; register the new key under a new kid"
                )
            public = dict(imported.as_dict(private=False))
            public["kid"] = kid
            made.append(
                ClientKey.objects.update_or_create(
                    application=application,
                    kid=kid,
                    defaults={"jwk": public, "created_at": timezone.now(), "retired_at": None},
                )[0]
            )
    return made


def _unverified_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return unverified_parts(token)
    except ValueError as exc:
        raise ClientJwtInvalid(f"the JWT: {exc}", field="jwt") from exc


def client_jwt_verify(
    token: str,
    *,
    audiences: tuple[str, ...],
    client_id: str | None = None,
    require_sub: bool = True,
    at: dt.datetime | None = None,
) -> VerifiedClientJwt:
    """Check a JWT a client signed with its registered key (see the module docstring).

    `audiences`: the values `aud` may hold (issuer URL, endpoint URL); one must match.
    `client_id`: if the request names its client elsewhere (form `client_id`), it must agree.
    """
    now = at or timezone.now()
    header, unverified = _unverified_claims(token)
    alg = header.get("alg")
    if alg not in ALLOWED_ALGS:
        raise ClientJwtInvalid(
            f"alg {alg!r} is not allowed; use one of {ALLOWED_ALGS}", field="alg"
        )
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise ClientJwtInvalid("iss (the client id) is missing", field="iss")
    if client_id is not None and client_id != issuer:
        raise ClientJwtInvalid("iss differs from the client_id of the request", field="iss")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ClientJwtInvalid("kid must be a string", field="kid")
    cached = _KEYS.get((issuer, kid)) if kid is not None else None
    key = cached or _key_load(issuer, kid)
    try:
        verified = jwt.decode(token, key.key, algorithms=[str(alg)])
    except (JoseError, ValueError) as exc:
        if cached is None:
            raise ClientJwtInvalid(f"signature does not verify: {exc}", field="signature") from exc
        # The kept key may have been replaced under the same kid: read it again, once.
        _keys_forget(issuer, str(kid))
        key = _key_load(issuer, kid)
        try:
            verified = jwt.decode(token, key.key, algorithms=[str(alg)])
        except (JoseError, ValueError) as again:
            raise ClientJwtInvalid(
                f"signature does not verify: {again}", field="signature"
            ) from again
    claims = dict(verified.claims)
    if require_sub and claims.get("sub") != issuer:
        raise ClientJwtInvalid("sub must equal iss (the client id)", field="sub")
    aud = claims.get("aud")
    aud_values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(value in audiences for value in aud_values):
        raise ClientJwtInvalid(f"aud must name this server ({audiences[0]})", field="aud")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float):
        raise ClientJwtInvalid("exp is required", field="exp")
    stamp = now.timestamp()
    skew = settings.TAHTO_CLIENT_JWT_SKEW_SECONDS
    if exp <= stamp - skew:
        raise ClientJwtInvalid("the JWT has expired", field="exp")
    if isinstance(iat, int | float):
        if iat > stamp + skew:
            raise ClientJwtInvalid("iat is in the future", field="iat")
        if exp - iat > settings.TAHTO_CLIENT_JWT_MAX_SECONDS:
            raise ClientJwtInvalid(
                f"lifetime exceeds {settings.TAHTO_CLIENT_JWT_MAX_SECONDS} s", field="exp"
            )
    elif exp - stamp > settings.TAHTO_CLIENT_JWT_MAX_SECONDS:
        raise ClientJwtInvalid(
            f"exp is more than {settings.TAHTO_CLIENT_JWT_MAX_SECONDS} s away", field="exp"
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise ClientJwtInvalid("jti (a unique id, at most 200 characters) is required", field="jti")
    expires_at = dt.datetime.fromtimestamp(exp + skew, tz=dt.UTC)
    in_force, fresh, application, provider = _confirm_and_record(
        key, jti=jti, expires_at=expires_at
    )
    if not in_force or application is None:
        _keys_forget(issuer, key.kid)
        raise ClientJwtInvalid(
            "the key is no longer registered for this client (retired or replaced)", field="kid"
        )
    if application.client_id != issuer:  # the client id changed since the key was read
        _keys_forget(issuer, key.kid)
        raise ClientJwtInvalid("unknown client", field="iss")
    if not fresh:
        raise ClientJwtInvalid("this jti was used before (a replay)", field="jti")
    return VerifiedClientJwt(application=application, claims=claims, kid=key.kid, provider=provider)


#: Citizens' own apps have an authorization server of their own, with its own issuer
#: identifier (RFC 8414 §2): the service's URL with this path. Its metadata is at
#: /.well-known/oauth-authorization-server/o/apps (RFC 8414 §3.1), its endpoints under it.
APP_ISSUER_PATH = "/o/apps"


def app_issuer() -> str:
    """The citizen apps' issuer: `iss` of their authorization and token responses."""
    return f"{settings.TAHTO_PUBLIC_URL}{APP_ISSUER_PATH}"


def client_assertion_audiences(path: str) -> tuple[str, ...]:
    """What a client assertion's `aud` may be at an endpoint: the issuer (FAPI 2.0 §5.3.2.1
    says so; at the citizen apps' endpoints their issuer too) or the endpoint's URL (RFC 7523
    §3 allows it), with or without a final slash."""
    issuer = settings.TAHTO_PUBLIC_URL
    url = f"{issuer}{path}"
    own = (issuer, issuer + "/", url, url.rstrip("/"), url.rstrip("/") + "/")
    if path.startswith(APP_ISSUER_PATH + "/"):
        return (app_issuer(), app_issuer() + "/", *own)
    return own


def client_assertion_verify(
    *, assertion_type: str | None, assertion: str | None, client_id: str | None, path: str
) -> VerifiedClientJwt:
    """private_key_jwt (RFC 7523 §2.2) client authentication at an OAuth endpoint."""
    if assertion_type != ASSERTION_TYPE:
        raise ClientJwtInvalid(
            f"client_assertion_type must be {ASSERTION_TYPE} (private_key_jwt)",
            field="client_assertion_type",
        )
    if not assertion:
        raise ClientJwtInvalid("client_assertion is missing", field="client_assertion")
    return client_jwt_verify(
        assertion, audiences=client_assertion_audiences(path), client_id=client_id or None
    )


def client_jwt_uses_prune(*, now: dt.datetime | None = None) -> int:
    """Forget jtis whose JWTs have expired (a replay of those fails on exp anyway)."""
    deleted, _ = ClientJwtUse.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
