"""The header and claims of a compact JWS read before its signature is checked: which key,
client or algorithm it names. Nothing read here is trusted until the signature verifies
(joserfc does that); the one reader for client JWTs, DPoP proofs and the client lockout."""

import base64
import json
from typing import Any


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, unverified; ValueError says what is wrong."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS (three dot-separated parts)")
    try:
        header, claims = (
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            for part in parts[:2]
        )
    except (ValueError, TypeError) as exc:
        raise ValueError("its header or claims are not base64url JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("its header and claims must be JSON objects")
    return header, claims
