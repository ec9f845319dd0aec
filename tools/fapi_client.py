"""A small FAPI 2.0 provider client for Tahto: PAR, private_key_jwt, PKCE S256, DPoP.

Used by the end-to-end test and runnable by hand against `make run` with a demo provider
(its private key is in var/keys/clients/<client_id>.jwk after `make demo`):

    .venv/bin/python tools/fapi_client.py --base http://127.0.0.1:8000 \\
        --client-id demo-terveys --key var/keys/clients/demo-terveys.jwk \\
        --redirect-uri http://127.0.0.1:8765/callback --consent-id <consentId>

It pushes the authorization request, prints the authorize URL for the citizen, reads the
redirect URL you paste back, exchanges the code with a DPoP proof and fetches
/api/v1/data/Condition with the DPoP-bound token.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import ECKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclass
class FapiClient:
    base: str
    client_id: str
    key: ECKey  # the client's registered signing key (private)
    kid: str = "k1"
    dpop_key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", private=True))
    nonce: str | None = None
    http: requests.Session = field(default_factory=requests.Session)

    # --- credentials -----------------------------------------------------------------------
    def assertion(self, aud: str | None = None, lifetime: int = 60) -> str:
        """private_key_jwt (RFC 7523): iss = sub = client_id, aud = the issuer (or `aud`:
        the decision service wants its own URL). Single use: a new jti each time."""
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": aud or self.base,
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode({"alg": "ES256", "kid": self.kid}, claims, self.key)

    def auth_form(self) -> dict[str, str]:
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion()}

    def proof(self, method: str, url: str, token: str | None = None) -> str:
        """A DPoP proof (RFC 9449) for one request."""
        claims: dict[str, Any] = {
            "htm": method,
            "htu": url.split("?", 1)[0],
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(16),
        }
        if token:
            claims["ath"] = b64url(hashlib.sha256(token.encode()).digest())
        if self.nonce:
            claims["nonce"] = self.nonce
        header = {"alg": "ES256", "typ": "dpop+jwt", "jwk": self.dpop_key.as_dict(private=False)}
        return jwt.encode(header, claims, self.dpop_key)

    # --- the flow --------------------------------------------------------------------------
    def push(self, *, redirect_uri: str, consent_id: str) -> tuple[str, str]:
        """PAR: return (the authorize URL for the citizen, the PKCE verifier)."""
        verifier = secrets.token_urlsafe(48)
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "state": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "authorization_details": json.dumps(
                [{"type": "tahto_consent", "consentId": consent_id}]
            ),
        }
        answer = self.http.post(
            f"{self.base}/o/par", data={**params, **self.auth_form()}, timeout=10
        )
        answer.raise_for_status()
        query = {"client_id": self.client_id, "request_uri": answer.json()["request_uri"]}
        return f"{self.base}/o/authorize/?{urlencode(query)}", verifier

    def _token_post(self, data: dict[str, str]) -> requests.Response:
        url = f"{self.base}/o/token/"
        for _ in range(2):  # once more with the server's nonce if it asks for one
            answer = self.http.post(
                url,
                data={**data, **self.auth_form()},
                headers={"DPoP": self.proof("POST", url)},
                timeout=10,
            )
            self.nonce = answer.headers.get("DPoP-Nonce", self.nonce)
            if answer.status_code != 400 or answer.json().get("error") != "use_dpop_nonce":
                break
        return answer

    def exchange(self, *, redirect_url: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        """The code of the redirect for DPoP-bound tokens."""
        query = parse_qs(urlsplit(redirect_url).query)
        if query.get("iss", [""])[0] != self.base:
            raise ValueError("the authorization response is not from this issuer (RFC 9207)")
        answer = self._token_post(
            {
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        )
        answer.raise_for_status()
        return dict(answer.json())

    def get(self, path: str, token: str, **kwargs: Any) -> requests.Response:
        """A data call with the DPoP-bound token and a fresh proof."""
        url = f"{self.base}{path}"
        headers = {
            "Authorization": f"DPoP {token}",
            "DPoP": self.proof("GET", url, token),
            **kwargs.pop("headers", {}),
        }
        return self.http.get(url, headers=headers, timeout=20, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--key", type=Path, required=True, help="The client's private JWK file")
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--consent-id", required=True)
    args = parser.parse_args()
    key = ECKey.import_key(json.loads(args.key.read_text()))
    client = FapiClient(base=args.base.rstrip("/"), client_id=args.client_id, key=key)
    url, verifier = client.push(redirect_uri=args.redirect_uri, consent_id=args.consent_id)
    print(f"Open as the citizen and approve:\n  {url}")
    redirect_url = input("Paste the URL you were redirected to: ").strip()
    token = client.exchange(
        redirect_url=redirect_url, redirect_uri=args.redirect_uri, verifier=verifier
    )
    print(f"token_type={token['token_type']} expires_in={token['expires_in']}")
    answer = client.get(
        "/api/v1/data/Condition", token["access_token"], headers={"Consent-ID": args.consent_id}
    )
    print(answer.status_code, json.dumps(answer.json(), indent=1)[:2000])


if __name__ == "__main__":
    main()
