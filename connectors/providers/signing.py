"""Signed consent-change notifications: a detached compact JWS over the exact body bytes.

The body is the RFC 8785 canonical JSON of the notification; the ``Tahto-Signature`` header
is ``<protected header>..<signature>`` (RFC 7515 Appendix F: the payload left out), signed with
the operator's newest Ed25519 key, header ``{"alg": "Ed25519", "kid": ..., "typ":
"tahto-consent-event+jwt"}``. A provider verifies it with the published JWK Set.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import rfc8785
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from consents import keys

SIGNATURE_HEADER = "Tahto-Signature"
TYP = "tahto-consent-event+jwt"


class SignatureInvalid(ValueError):
    """The notification is not signed by a key of the operator's JWK Set."""


def notification_body(notification: dict[str, Any]) -> bytes:
    return rfc8785.dumps(notification)


def notification_sign(body: bytes) -> str:
    """Return the detached compact JWS of `body`."""
    key = keys.signing_key()
    header = {"alg": keys.JWS_ALG, "kid": key.kid, "typ": TYP}
    token = jws.serialize_compact(
        header, body, OKPKey.import_key(key.private_key), algorithms=[keys.JWS_ALG]
    )
    protected, _, signature = token.split(".")
    return f"{protected}..{signature}"


def notification_verify(body: bytes, signature: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Check the detached signature of `body` against `jwks`; return the notification."""
    try:
        protected, empty, sig = signature.split(".")
        header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    except ValueError as exc:
        raise SignatureInvalid(f"malformed signature: {exc}") from None
    if empty or header.get("alg") != keys.JWS_ALG or header.get("typ") != TYP:
        raise SignatureInvalid("not a detached Tahto notification signature")
    entry = next((k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")), None)
    if entry is None:
        raise SignatureInvalid(f"unknown kid {header.get('kid')!r}")
    key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": entry["x"]})
    payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode("ascii")
    try:
        jws.deserialize_compact(f"{protected}.{payload}.{sig}", key, algorithms=[keys.JWS_ALG])
    except (JoseError, ValueError) as exc:
        raise SignatureInvalid(f"bad signature: {exc}") from None
    return dict(json.loads(body))
