"""DPoP (RFC 9449): the one check of a proof of possession, at the token endpoint and at every
resource call, and the server nonce.

A proof is a JWT the client signs with its DPoP key and sends in the `DPoP` header:
`typ` dpop+jwt, `alg` one FAPI 2.0 allows, the public `jwk` in its header, and claims
`htm` (the HTTP method), `htu` (the URL without query and fragment), `iat` (fresh), `jti`
(used once: stored until the proof is too old, so a replay is refused by any process),
`ath` (base64url SHA-256 of the access token, at resource calls) and `nonce` (when
TAHTO_DPOP_NONCE_REQUIRED: the value of our last `DPoP-Nonce` header).

Tokens are bound to the key's RFC 7638 thumbprint (`cnf.jkt`): provider tokens in
`TokenBinding.jkt`, citizen-app tokens in `CitizenAppToken.jkt`. Shared by both faces, so
it lives here, below them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from .jws import unverified_parts
from .models import DpopProofUse
from .replay import first_use

#: Signing algorithms FAPI 2.0 allows (Ed25519 is EdDSA's alias), for DPoP proofs and client JWTs.
ALLOWED_ALGS = ("PS256", "ES256", "EdDSA", "Ed25519")

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


class DpopInvalid(ValueError):
    """The proof does not hold. `error` is the RFC 9449 error code to answer with."""

    def __init__(self, message: str, *, error: str = "invalid_dpop_proof") -> None:
        super().__init__(message)
        self.error = error
        self.description = message


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def access_token_hash(token: str) -> str:
    """The `ath` of a token: base64url(SHA-256(token))."""
    return b64url(hashlib.sha256(token.encode("ascii", "replace")).digest())


def _window(at: dt.datetime) -> int:
    return int(at.timestamp()) // settings.TAHTO_DPOP_NONCE_SECONDS


def _nonce_for(window: int) -> str:
    key = hashlib.sha256(b"tahto-dpop-nonce" + settings.SECRET_KEY.encode()).digest()
    return b64url(hmac.new(key, str(window).encode(), hashlib.sha256).digest()[:18])


def dpop_nonce(*, at: dt.datetime | None = None) -> str:
    """The server nonce now: an HMAC of the time window, so every process agrees, no storage."""
    return _nonce_for(_window(at or timezone.now()))


def _nonce_ok(value: object, at: dt.datetime) -> bool:
    if not isinstance(value, str):
        return False
    now = _window(at)  # this window's nonce or the previous one's (issued just before)
    return any(hmac.compare_digest(value, _nonce_for(w)) for w in (now, now - 1))


def _header(proof: str) -> dict[str, Any]:
    try:
        header, _claims = unverified_parts(proof)
    except ValueError as exc:
        raise DpopInvalid(f"the DPoP proof: {exc}") from exc
    return header


def _strip(url: str) -> str:
    return url.split("#", 1)[0].split("?", 1)[0]


def dpop_verify(
    proof: str | None,
    *,
    method: str,
    urls: tuple[str, ...],
    access_token: str | None = None,
    at: dt.datetime | None = None,
) -> str:
    """Check one DPoP proof for this request; return the key's thumbprint (jkt).

    `urls`: the URLs this request may have been sent to (htu must equal one, without query).
    `access_token`: at a resource, the token presented (the proof's `ath` must hash it)."""
    now = at or timezone.now()
    if not proof:
        raise DpopInvalid("a DPoP header with a proof is required")
    if "," in proof or " " in proof.strip():
        raise DpopInvalid("send exactly one DPoP proof")
    header = _header(proof)
    if header.get("typ") != "dpop+jwt":
        raise DpopInvalid("the proof's typ must be dpop+jwt")
    alg = header.get("alg")
    if alg not in ALLOWED_ALGS:
        raise DpopInvalid(f"alg {alg!r} is not allowed; use one of {ALLOWED_ALGS}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise DpopInvalid("the proof's header must carry the public key as jwk")
    if any(member in jwk for member in PRIVATE_MEMBERS):
        raise DpopInvalid("the proof's jwk holds private key material")
    try:
        key = JWKRegistry.import_key(jwk)
        verified = jwt.decode(proof, key, algorithms=[str(alg)])
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise DpopInvalid(f"the proof's signature does not verify: {exc}") from exc
    claims = dict(verified.claims)
    if claims.get("htm") != method:
        raise DpopInvalid(f"htm must be {method}")
    htu = claims.get("htu")
    if not isinstance(htu, str) or _strip(htu) not in {_strip(u) for u in urls}:
        raise DpopInvalid("htu must be the URL of this request")
    iat = claims.get("iat")
    if not isinstance(iat, int | float):
        raise DpopInvalid("iat is required")
    age = now.timestamp() - iat
    if age > settings.TAHTO_DPOP_MAX_AGE_SECONDS or age < -settings.TAHTO_CLIENT_JWT_SKEW_SECONDS:
        raise DpopInvalid("the proof is not fresh (iat)")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise DpopInvalid("ath is not the hash of the access token")
    if settings.TAHTO_DPOP_NONCE_REQUIRED and not _nonce_ok(claims.get("nonce"), now):
        raise DpopInvalid("use the server's DPoP-Nonce", error="use_dpop_nonce")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise DpopInvalid("jti (a unique id, at most 200 characters) is required")
    jkt = key.thumbprint()
    lifetime = settings.TAHTO_DPOP_MAX_AGE_SECONDS + settings.TAHTO_CLIENT_JWT_SKEW_SECONDS
    if not first_use(
        DpopProofUse,
        jkt=jkt,
        jti=jti,
        expires_at=dt.datetime.fromtimestamp(float(iat) + lifetime, tz=dt.UTC),
    ):
        raise DpopInvalid("this proof was used before (jti replay)")
    return str(jkt)


def dpop_request_jkt(
    request: HttpRequest, *, access_token: str, at: dt.datetime | None = None
) -> str:
    """Check the DPoP proof a resource request carries for its own method and URL (as it
    arrived, or under TAHTO_PUBLIC_URL behind a proxy) and `access_token`; return its key's
    thumbprint. The one resource-server check of the provider API and the citizen API."""
    urls = (request.build_absolute_uri(request.path), f"{settings.TAHTO_PUBLIC_URL}{request.path}")
    return dpop_verify(
        request.META.get("HTTP_DPOP"),
        method=request.method or "GET",
        urls=urls,
        access_token=access_token,
        at=at,
    )


def dpop_uses_prune(*, now: dt.datetime | None = None) -> int:
    """Forget proof jtis too old to be accepted again anyway."""
    deleted, _ = DpopProofUse.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
