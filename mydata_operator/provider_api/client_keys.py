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

Verification costs one indexed read of the keys and one insert of the `jti`; no password hash.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from oauth2_provider.models import Application

from mydata_operator.security.dpop import ALLOWED_ALGS
from mydata_operator.security.replay import first_use

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


def client_keys_register(*, application: Application, jwks: dict[str, Any]) -> list[ClientKey]:
    """Register the public keys of a JWK Set for a client; a private key is refused."""
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


def client_jwks(application: Application) -> KeySet:
    """The client's keys in force, as a joserfc KeySet."""
    rows = ClientKey.objects.filter(application=application, retired_at__isnull=True)
    return KeySet.import_key_set({"keys": [row.jwk for row in rows]})


def _unverified_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ClientJwtInvalid("not a compact JWS (three dot-separated parts)", field="jwt")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError) as exc:
        raise ClientJwtInvalid("header or claims are not base64url JSON", field="jwt") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ClientJwtInvalid("header and claims must be JSON objects", field="jwt")
    return header, claims


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
    application = Application.objects.filter(client_id=issuer).first()
    if application is None:
        raise ClientJwtInvalid("unknown client", field="iss")
    rows = list(ClientKey.objects.filter(application=application, retired_at__isnull=True))
    kid = header.get("kid")
    if kid is not None:
        rows = [row for row in rows if row.kid == kid]
    elif len(rows) != 1:
        rows = []
    if not rows:
        raise ClientJwtInvalid(
            "no registered key of this client matches the JWT's kid", field="kid"
        )
    keys = KeySet.import_key_set({"keys": [rows[0].jwk]})
    try:
        verified = jwt.decode(token, keys, algorithms=[str(alg)])
    except (JoseError, ValueError) as exc:
        raise ClientJwtInvalid(f"signature does not verify: {exc}", field="signature") from exc
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
    _jti_use(application=application, jti=jti, expires=exp + skew, now=now)
    return VerifiedClientJwt(application=application, claims=claims, kid=rows[0].kid)


def client_assertion_audiences(path: str) -> tuple[str, ...]:
    """What a client assertion's `aud` may be at an endpoint: the issuer (FAPI 2.0 §5.3.2.1
    says so) or the endpoint's URL (RFC 7523 §3 allows it), with or without a final slash."""
    issuer = settings.TAHTO_PUBLIC_URL
    url = f"{issuer}{path}"
    return (issuer, issuer + "/", url, url.rstrip("/"), url.rstrip("/") + "/")


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


def claimed_issuer(token: str) -> str:
    """The unverified `iss` of a JWT ("" if none): which client it claims to come from."""
    try:
        _header, claims = _unverified_claims(token)
    except ClientJwtInvalid:
        return ""
    issuer = claims.get("iss")
    return issuer[:100] if isinstance(issuer, str) else ""


def _jti_use(*, application: Application, jti: str, expires: float, now: dt.datetime) -> None:
    """Record the jti; refuse it if this client used it before (until it expires)."""
    expires_at = dt.datetime.fromtimestamp(expires, tz=dt.UTC)
    if not first_use(ClientJwtUse, application=application, jti=jti, expires_at=expires_at):
        raise ClientJwtInvalid("this jti was used before (a replay)", field="jti")


def client_jwt_uses_prune(*, now: dt.datetime | None = None) -> int:
    """Forget jtis whose JWTs have expired (a replay of those fails on exp anyway)."""
    deleted, _ = ClientJwtUse.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
