"""Signed tree heads of the consent log: the RFC 6962 §3.5 TreeHeadSignature, signed with Ed25519.

Standard library and ``cryptography`` only, no Django, so that the stand-alone verifier can use
it. The signed message is the TLS-encoded struct (all integers big-endian)::

    struct {
        Version version;                 // v1 = 0, 1 byte
        SignatureType signature_type;    // tree_hash = 1, 1 byte
        uint64 timestamp;                // milliseconds since the epoch
        uint64 tree_size;
        opaque sha256_root_hash[32];
    } TreeHeadSignature;

and the signature is a plain 64-byte Ed25519 signature over those 50 bytes. The JSON form
follows RFC 6962's get-sth: ``tree_size``, ``timestamp``, ``sha256_root_hash`` and
``tree_head_signature`` (standard base64), plus ``key_id``, the ``kid`` of the signing key in
the log's JWKS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "SIGNATURE_SIZE",
    "SIGNATURE_TYPE_TREE_HASH",
    "VERSION_V1",
    "TreeHead",
    "jwk_thumbprint",
    "public_key_from_jwk",
    "public_key_to_jwk",
    "sign_tree_head",
    "tree_head_from_json",
    "tree_head_message",
    "tree_head_to_json",
    "verify_tree_head",
]

VERSION_V1 = 0
SIGNATURE_TYPE_TREE_HASH = 1
SIGNATURE_SIZE = 64
_ROOT_SIZE = 32
_UINT64_MAX = 2**64 - 1
_STRUCT = struct.Struct(">BBQQ32s")


def _check_uint64(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= value <= _UINT64_MAX:
        raise ValueError(f"{name} must be in 0..2**64-1, got {value}")
    return value


def _check_root(value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != _ROOT_SIZE:
        raise ValueError(f"sha256_root_hash must be {_ROOT_SIZE} bytes")
    return bytes(value)


def tree_head_message(tree_size: int, timestamp_ms: int, root_hash: bytes) -> bytes:
    """Return the 50-byte TreeHeadSignature struct that is signed (RFC 6962 §3.5)."""
    return _STRUCT.pack(
        VERSION_V1,
        SIGNATURE_TYPE_TREE_HASH,
        _check_uint64("timestamp", timestamp_ms),
        _check_uint64("tree_size", tree_size),
        _check_root(root_hash),
    )


def sign_tree_head(
    private_key: Ed25519PrivateKey, tree_size: int, timestamp_ms: int, root_hash: bytes
) -> bytes:
    """Sign the tree head with Ed25519 and return the 64-byte signature."""
    return private_key.sign(tree_head_message(tree_size, timestamp_ms, root_hash))


def verify_tree_head(
    public_key: Ed25519PublicKey,
    tree_size: int,
    timestamp_ms: int,
    root_hash: bytes,
    signature: bytes,
) -> bool:
    """Return whether ``signature`` is a valid signature of the tree head; never raises."""
    try:
        message = tree_head_message(tree_size, timestamp_ms, root_hash)
        if not isinstance(signature, bytes | bytearray) or len(signature) != SIGNATURE_SIZE:
            return False
        public_key.verify(bytes(signature), message)
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        return False
    return True


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head as published by the log."""

    tree_size: int
    timestamp: int
    """Milliseconds since the epoch."""
    sha256_root_hash: bytes
    tree_head_signature: bytes
    key_id: str

    def message(self) -> bytes:
        """Return the signed TreeHeadSignature bytes."""
        return tree_head_message(self.tree_size, self.timestamp, self.sha256_root_hash)

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        """Return whether the signature verifies under ``public_key``."""
        return verify_tree_head(
            public_key,
            self.tree_size,
            self.timestamp,
            self.sha256_root_hash,
            self.tree_head_signature,
        )

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form (see ``tree_head_to_json``)."""
        return tree_head_to_json(
            self.tree_size,
            self.timestamp,
            self.sha256_root_hash,
            self.tree_head_signature,
            self.key_id,
        )


def tree_head_to_json(
    tree_size: int, timestamp_ms: int, root_hash: bytes, signature: bytes, key_id: str
) -> dict[str, Any]:
    """Return the JSON form of a signed tree head (hashes and signature in standard base64)."""
    _check_uint64("tree_size", tree_size)
    _check_uint64("timestamp", timestamp_ms)
    return {
        "tree_size": tree_size,
        "timestamp": timestamp_ms,
        "sha256_root_hash": base64.b64encode(_check_root(root_hash)).decode("ascii"),
        "tree_head_signature": base64.b64encode(bytes(signature)).decode("ascii"),
        "key_id": key_id,
    }


def _b64_field(d: dict[str, Any], name: str, size: int) -> bytes:
    value = d[name]
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a base64 string, got {type(value).__name__}")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"{name} is not valid standard base64: {exc}") from None
    if len(raw) != size:
        raise ValueError(f"{name} must decode to {size} bytes, got {len(raw)}")
    return raw


def tree_head_from_json(d: Any) -> TreeHead:
    """Parse the JSON form of a signed tree head; raise ValueError saying what is wrong."""
    if not isinstance(d, dict):
        raise ValueError(f"a tree head must be a JSON object, got {type(d).__name__}")
    required = ("tree_size", "timestamp", "sha256_root_hash", "tree_head_signature", "key_id")
    missing = [k for k in required if k not in d]
    if missing:
        raise ValueError(f"tree head is missing {', '.join(missing)}")
    key_id = d["key_id"]
    if not isinstance(key_id, str) or not key_id:
        raise ValueError("key_id must be a non-empty string")
    return TreeHead(
        tree_size=_check_uint64("tree_size", d["tree_size"]),
        timestamp=_check_uint64("timestamp", d["timestamp"]),
        sha256_root_hash=_b64_field(d, "sha256_root_hash", _ROOT_SIZE),
        tree_head_signature=_b64_field(d, "tree_head_signature", SIGNATURE_SIZE),
        key_id=key_id,
    )


# --------------------------------------------------------------------------- JWK (RFC 8037)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_key_to_jwk(public_key: Ed25519PublicKey, kid: str | None = None) -> dict[str, str]:
    """Return the public JWK (kty OKP, crv Ed25519) of ``public_key``.

    ``kid`` defaults to the RFC 7638 thumbprint of the key.
    """
    x = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(x)}
    jwk["kid"] = kid if kid is not None else jwk_thumbprint(public_key)
    jwk["alg"] = "Ed25519"
    jwk["use"] = "sig"
    return jwk


def jwk_thumbprint(public_key: Ed25519PublicKey) -> str:
    """Return the RFC 7638 SHA-256 JWK thumbprint (base64url) of an Ed25519 public key."""
    x = _b64url(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def public_key_from_jwk(jwk: Any) -> Ed25519PublicKey:
    """Load an Ed25519 public key from a JWK; raise ValueError saying what is wrong."""
    if not isinstance(jwk, dict):
        raise ValueError(f"a JWK must be a JSON object, got {type(jwk).__name__}")
    if jwk.get("kty") != "OKP":
        raise ValueError(f"JWK kty must be 'OKP', got {jwk.get('kty')!r}")
    if jwk.get("crv") != "Ed25519":
        raise ValueError(f"JWK crv must be 'Ed25519', got {jwk.get('crv')!r}")
    if "d" in jwk:
        raise ValueError("JWK contains a private key ('d'); publish only public keys")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise ValueError("JWK x must be a base64url string")
    try:
        raw = base64.urlsafe_b64decode(x.encode("ascii") + b"=" * (-len(x) % 4))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ValueError(f"JWK x is not valid base64url: {exc}") from None
    if len(raw) != 32 or _b64url(raw) != x.rstrip("="):
        raise ValueError("JWK x must be 32 bytes of base64url")
    return Ed25519PublicKey.from_public_bytes(raw)
