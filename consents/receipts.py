"""Signed consent receipts: a compact JWS over the receipt JSON, one per change a person made.

The payload follows the Kantara Consent Receipt v1.1 and ISO/IEC TS 27560 fields, plus
Tahto's own (the event, the consent version, the actor, the notice hash and the position of
the event's entry in the tamper-evident log, by entry id and leaf hash); its schema is
``schemas/receipt.v2.json`` (receipts issued before the log integrated entries after commit
are ``schemas/receipt.v1.json``, citing a leaf index, and still verify). It never
holds the personal identity code, only the subject's pseudonymous id.

Signing: the JWS payload is the RFC 8785 canonical JSON of the receipt, signed with the
operator's newest Ed25519 key (``consents.keys``); the header is
``{"alg": "Ed25519", "kid": <RFC 7638 thumbprint>, "typ": "tahto-receipt+jwt"}``.

Why ``alg: "Ed25519"``: RFC 9864 (2025) registers the fully-specified "Ed25519" and
deprecates RFC 8037's polymorphic "EdDSA"; joserfc 1.8 implements both, but warns
(SecurityWarning) on every use of "EdDSA". The signature bytes are the same for both names, so
a verifier whose JOSE library knows only "EdDSA" can still check a receipt with plain Ed25519
(see OFFLINE_VERIFIER); switching the name back is a one-line change of ``keys.JWS_ALG``.
``typ`` is explicit (RFC 8725 §3.11) so that a receipt can never be mistaken for, or replayed
as, another token signed with the same key; any JSON object is a valid JWT claims set, hence
the ``+jwt`` suffix.

Anyone can verify a receipt offline with the published ``/.well-known/jwks.json``: with this
module's ``receipt_verify``, or without our code base with ``OFFLINE_VERIFIER``, a
stand-alone script that needs only Python and ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any
from uuid import UUID

import rfc8785
from django.conf import settings
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OKPKey

from . import keys
from .kinds import kind_spec
from .models import Consent
from .times import iso_utc

RECEIPT_VERSION = "tahto-receipt/2"
#: Versions `receipt_verify` accepts: /1 (log position as leaf index) is still valid.
RECEIPT_VERSIONS = frozenset({"tahto-receipt/1", RECEIPT_VERSION})
RECEIPT_TYP = "tahto-receipt+jwt"
RECEIPT_ALG = keys.JWS_ALG
ACTOR_ROLES = frozenset({"self", "guardian", "mandate"})
LANGUAGES = ("fi", "sv", "en")


class ReceiptInvalid(ValueError):
    """The receipt is malformed, signed by an unknown key, has a wrong alg or a bad signature."""


# --------------------------------------------------------------------------- vocabulary

#: collectionMethod by event (language-neutral codes: the dashboard translates them).
_COLLECTION_METHODS: dict[str, str] = {
    "consent.approved": "provider-request-approved",
    "consent.rejected": "provider-request-rejected",
}

_PURPOSES: dict[str, dict[str, str]] = {
    "care": {
        "fi": "Hoito",
        "sv": "Vård och behandling",
        "en": "Care and treatment",
    },
    "care-coordination": {
        "fi": "Hoidon yhteensovittaminen palveluntuottajien kesken",
        "sv": "Samordning av vården mellan tjänsteproducenter",
        "en": "Coordinating care between providers",
    },
    "service-need-assessment": {
        "fi": "Palvelutarpeen arviointi",
        "sv": "Bedömning av servicebehovet",
        "en": "Assessing the need for services",
    },
    "self-care-support": {
        "fi": "Omahoidon tukeminen",
        "sv": "Stöd för egenvården",
        "en": "Supporting self-care",
    },
    "research": {
        "fi": "Biopankkitutkimus",
        "sv": "Biobanksforskning",
        "en": "Biobank research",
    },
}

_TERMINATION: dict[str, str] = {
    "fi": "Voit perua suostumuksen milloin tahansa Tahto-palvelussa.",
    "sv": "Du kan när som helst återkalla samtycket i Tahto-tjänsten.",
    "en": "Withdraw at any time in the Tahto dashboard.",
}
_VALID_UNTIL: dict[str, str] = {
    "fi": "Voimassa {until} asti.",
    "sv": "Gäller till {until}.",
    "en": "Valid until {until}.",
}

_SCOPE_SCHEMA_RE = re.compile(r"^consent-kinds/[a-z-]+\.v[0-9]+$")


# --------------------------------------------------------------------------- payload


def receipt_payload(
    *,
    consent: Consent,
    event_type: str,
    actor_id: UUID,
    actor_role: str,
    log_entry_id: int,
    leaf_hash: bytes,
    issued_at: datetime,
    receipt_id: UUID,
    language: str = "fi",
) -> dict[str, Any]:
    """Build the receipt (schemas/receipt.v2.json) for one event on ``consent``.

    ``log_entry_id`` and ``leaf_hash`` name the event's log entry: the receipt is issued in
    the entry's own transaction, before the entry has a leaf index."""
    if actor_role not in ACTOR_ROLES:
        raise ValueError(f"actor_role must be one of {sorted(ACTOR_ROLES)}, got {actor_role!r}")
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    if len(leaf_hash) != 32:
        raise ValueError(f"leaf_hash must be 32 bytes (SHA-256), got {len(leaf_hash)}")
    scope = consent.scope if isinstance(consent.scope, dict) else {}

    consent_body: dict[str, Any] = {
        "id": str(consent.id),
        "lineage": str(consent.lineage),
        "version": consent.version,
        "kind": consent.kind,
        "status": consent.status,
        "provision": consent.provision,
        "scope": scope,
        "validFrom": iso_utc(consent.valid_from),
    }
    if consent.schema and _SCOPE_SCHEMA_RE.match(consent.schema):
        consent_body["scopeSchema"] = consent.schema
    if consent.valid_until is not None:
        consent_body["validUntil"] = iso_utc(consent.valid_until)

    payload: dict[str, Any] = {
        "version": RECEIPT_VERSION,
        "jurisdiction": "FI",
        "consentTimestamp": int(issued_at.timestamp()),
        "collectionMethod": _collection_method(event_type, actor_role),
        "consentReceiptID": str(receipt_id),
        "language": language,
        "piiPrincipalId": str(consent.subject_id),
        "piiControllers": _controllers(consent.kind, scope),
        "policyUrl": f"{settings.TAHTO_PUBLIC_URL}/policy",
        "services": [
            {
                "service": kind_spec(consent.kind).receipt_service[language],
                "purposes": _purposes(consent, scope, language),
            }
        ],
        "sensitive": True,
        "spiCat": ["health"],
        "event": event_type,
        "consent": consent_body,
        "actor": {"id": str(actor_id), "role": actor_role},
        "log": {"entry": log_entry_id, "leafHash": base64.b64encode(leaf_hash).decode("ascii")},
    }
    # The schema has no null: a consent given without a recorded notice leaves the field out.
    if consent.notice_id:
        payload["noticeSha256"] = consent.notice_id
    return payload


def _collection_method(event_type: str, actor_role: str) -> str:
    if event_type in _COLLECTION_METHODS:
        return _COLLECTION_METHODS[event_type]
    return "dashboard" if actor_role == "self" else "dashboard-on-behalf"


def _controllers(kind: str, scope: dict[str, Any]) -> list[dict[str, str]]:
    """The operator, then every organisation the scope names by OID (once each)."""
    controllers = [
        {"name": settings.TAHTO_OPERATOR_NAME, "organisationId": settings.TAHTO_OPERATOR_ID}
    ]
    seen = {settings.TAHTO_OPERATOR_ID}
    for org in _named_organisations(kind, scope):
        oid = org.get("organisation")
        if isinstance(oid, str) and oid not in seen:
            seen.add(oid)
            controllers.append({"name": org.get("name") or oid, "organisationId": oid})
    return controllers


def _named_organisations(kind: str, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """The organisations that receive or act on the data under the scope (its kind says)."""
    return [dict(org) for org in kind_spec(kind).organisations(scope)]


def _purposes(consent: Consent, scope: dict[str, Any], language: str) -> list[dict[str, Any]]:
    termination = _TERMINATION[language]
    if consent.valid_until is not None:
        until = _VALID_UNTIL[language].format(until=iso_utc(consent.valid_until))
        termination = f"{until} {termination}"
    categories = [c for c in scope.get("dataCategories") or [] if isinstance(c, str)]
    third_parties = [
        o.get("name") or o.get("organisation") or o.get("providerKind")
        for o in _named_organisations(consent.kind, scope)
    ]

    def purpose(code: str, pii: list[str], *, primary: bool, disclosed: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "purpose": _PURPOSES[code][language],
            "purposeCategory": [code],
            "consentType": "EXPLICIT",
            "piiCategory": pii,
            "primaryPurpose": primary,
            "termination": termination,
            "thirdPartyDisclosure": disclosed,
        }
        if disclosed and len(third_parties) == 1 and third_parties[0]:
            item["thirdPartyName"] = str(third_parties[0])
        return item

    return [
        purpose(
            p.code,
            categories if p.pii is None else list(p.pii),
            primary=p.primary,
            disclosed=p.disclosed,
        )
        for p in kind_spec(consent.kind).receipt_purposes(scope)
    ]


# --------------------------------------------------------------------------- sign and verify


def receipt_sign(payload: dict[str, Any]) -> str:
    """Return the compact JWS of ``payload`` (RFC 8785 canonical JSON) signed with our key."""
    key = keys.signing_key()
    header = {"alg": RECEIPT_ALG, "kid": key.kid, "typ": RECEIPT_TYP}
    return jws.serialize_compact(
        header,
        rfc8785.dumps(payload),
        OKPKey.import_key(key.private_key),
        algorithms=[RECEIPT_ALG],
    )


def receipt_verify(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Verify a receipt with the key of its kid in ``jwks``; return its payload.

    Raises ReceiptInvalid, saying why, for anything but a valid receipt signed by a key in
    ``jwks``; it never returns for a bad signature.
    """
    if not isinstance(token, str):
        raise ReceiptInvalid(f"malformed: a receipt is a string, got {type(token).__name__}")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ReceiptInvalid("malformed: a compact JWS has three dot-separated parts")
    header = _decode_json(parts[0], "header")

    alg = header.get("alg")  # checked first, so that e.g. "none" is refused by name
    if alg != RECEIPT_ALG:
        raise ReceiptInvalid(f"wrong alg {alg!r}: Tahto receipts are signed with {RECEIPT_ALG}")
    if not parts[1] or not parts[2]:
        raise ReceiptInvalid("malformed: the payload or the signature is empty")
    if header.get("typ") != RECEIPT_TYP:
        raise ReceiptInvalid(f"not a Tahto receipt: typ is {header.get('typ')!r}")
    if "crit" in header:
        raise ReceiptInvalid(f"unsupported critical header parameters {header['crit']!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ReceiptInvalid("malformed: the header names no kid")
    key = _verification_key(kid, jwks)

    try:
        obj = jws.deserialize_compact(token.strip(), key, algorithms=[RECEIPT_ALG])
    except BadSignatureError:
        raise ReceiptInvalid(f"bad signature: the receipt does not verify with key {kid}") from None
    except (JoseError, ValueError, TypeError) as exc:
        raise ReceiptInvalid(f"malformed: {exc}") from exc

    try:
        payload = json.loads(obj.payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReceiptInvalid(f"malformed: the payload is not JSON: {exc}") from None
    if not isinstance(payload, dict) or payload.get("version") not in RECEIPT_VERSIONS:
        raise ReceiptInvalid(
            f"malformed: the payload is not a receipt of {' or '.join(sorted(RECEIPT_VERSIONS))}"
        )
    return payload


def _decode_json(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url_decode(segment))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReceiptInvalid(f"malformed: the {what} is not base64url JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ReceiptInvalid(f"malformed: the {what} is not a JSON object")
    return value


def _b64url_decode(segment: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", segment):
        raise ValueError("characters outside the base64url alphabet")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None


def _verification_key(kid: str, jwks: dict[str, Any]) -> OKPKey:
    """The public key with ``kid`` from a JWK Set, checked to be an Ed25519 signing key."""
    entries = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(entries, list):
        raise ReceiptInvalid('the JWKS is not a JWK Set: expected {"keys": [...]}')
    matches = [k for k in entries if isinstance(k, dict) and k.get("kid") == kid]
    if not matches:
        raise ReceiptInvalid(f"unknown kid {kid!r}: no key with that kid in the JWKS")
    if len(matches) > 1:
        raise ReceiptInvalid(f"ambiguous kid {kid!r}: {len(matches)} keys in the JWKS")
    entry = matches[0]
    if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
        raise ReceiptInvalid(f"key {kid} is not an Ed25519 key (kty OKP, crv Ed25519)")
    if entry.get("alg") not in (None, RECEIPT_ALG) or entry.get("use") not in (None, "sig"):
        raise ReceiptInvalid(f"key {kid} is not published for {RECEIPT_ALG} signatures")
    public: dict[str, Any] = {"kty": "OKP", "crv": "Ed25519", "x": entry.get("x")}  # no "d"
    try:
        key = OKPKey.import_key(public)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ReceiptInvalid(f"key {kid} in the JWKS is not a valid Ed25519 JWK: {exc}") from None
    if key.thumbprint() != kid:
        raise ReceiptInvalid(f"key {kid} in the JWKS: kid is not the key's RFC 7638 thumbprint")
    return key


# --------------------------------------------------------------------------- offline recipe

#: A stand-alone verifier for citizens and auditors: save as verify_receipt.py and run
#: ``python verify_receipt.py RECEIPT.jws JWKS.json``. Needs only Python 3.9+ and
#: ``cryptography``; JWKS.json is the operator's /.well-known/jwks.json. Tested in
#: tests/consents/test_receipts.py exactly as published here.
OFFLINE_VERIFIER = '''\
"""Verify a Tahto consent receipt offline: python verify_receipt.py RECEIPT.jws JWKS.json

Needs only Python 3.9+ and the cryptography package. JWKS.json is the operator's
/.well-known/jwks.json. Prints the receipt as JSON if its signature is valid, else exits 1.
"""

import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_receipt(jws, jwks):
    """Return the receipt if jws is signed by the key of its kid in jwks; raise otherwise."""
    header_b64, payload_b64, signature_b64 = jws.strip().split(".")
    header = json.loads(b64url_decode(header_b64))
    if header.get("alg") != "Ed25519":
        raise ValueError("unexpected alg %r" % header.get("alg"))
    if header.get("typ") != "tahto-receipt+jwt":
        raise ValueError("not a Tahto receipt (typ %r)" % header.get("typ"))
    found = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
    if len(found) != 1 or found[0].get("kty") != "OKP" or found[0].get("crv") != "Ed25519":
        raise ValueError("no Ed25519 key with kid %r in the JWKS" % header.get("kid"))
    public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(found[0]["x"]))
    signing_input = (header_b64 + "." + payload_b64).encode("ascii")
    public_key.verify(b64url_decode(signature_b64), signing_input)  # raises InvalidSignature
    return json.loads(b64url_decode(payload_b64))


if __name__ == "__main__":
    with open(sys.argv[1]) as receipt_file, open(sys.argv[2]) as jwks_file:
        token, key_set = receipt_file.read(), json.load(jwks_file)
    try:
        receipt = verify_receipt(token, key_set)
    except (InvalidSignature, ValueError) as exc:
        sys.exit("NOT VALID: %s" % (str(exc) or "the signature does not match"))
    print(json.dumps(receipt, indent=2, ensure_ascii=False))
'''
