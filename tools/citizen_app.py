"""A citizen's own app for Tahto, as small as it can be: a public client (no secret) with
PAR, PKCE S256 and DPoP, reading (and, with --write, pausing) the citizen's consents.

Runnable by hand against `make run` with the demo app registered by `make demo`:

    .venv/bin/python tools/citizen_app.py --base http://127.0.0.1:8000 [--write]

It reads the apps' authorization server metadata (RFC 8414, issuer `<base>/o/apps`, at
`<base>/.well-known/oauth-authorization-server/o/apps`), pushes the authorization request,
prints the authorize URL for the citizen (sign in, e.g. as aino, and approve), reads the
redirect URL you paste back (the page at http://127.0.0.1:8766/callback need not load; a
loopback redirect may use any port, `--redirect-uri http://127.0.0.1:51004/callback`, as a
native app's listener does, RFC 8252 §7.3),
checks its `iss` against the metadata's issuer, exchanges the code with a DPoP proof and
lists /api/v1/me/consents with the DPoP-bound token; with --write it also pauses and resumes
the first active consent.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import ECKey

DEMO_APP = "demo-citizen-app"
DEMO_REDIRECT = "http://127.0.0.1:8766/callback"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclass
class CitizenApp:
    base: str
    client_id: str = DEMO_APP
    redirect_uri: str = DEMO_REDIRECT
    dpop_key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", private=True))
    nonce: str | None = None
    http: requests.Session = field(default_factory=requests.Session)
    metadata: dict[str, Any] = field(default_factory=dict)

    def discover(self) -> dict[str, Any]:
        """The apps' authorization server metadata (RFC 8414 §3.1: the well-known path goes
        before the issuer's path), checked to be about the issuer asked for (§3.3)."""
        if not self.metadata:
            issuer = f"{self.base}/o/apps"
            url = f"{self.base}/.well-known/oauth-authorization-server/o/apps"
            answer = self.http.get(url, timeout=10)
            answer.raise_for_status()
            metadata = dict(answer.json())
            if metadata.get("issuer") != issuer:
                raise ValueError(f"the metadata names issuer {metadata.get('issuer')!r}")
            self.metadata = metadata
        return self.metadata

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

    def push(self, scope: str) -> tuple[str, str]:
        """PAR: return (the authorize URL for the citizen, the PKCE verifier)."""
        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": secrets.token_urlsafe(12),
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        meta = self.discover()
        answer = self.http.post(
            meta["pushed_authorization_request_endpoint"], data=params, timeout=10
        )
        answer.raise_for_status()
        query = {"client_id": self.client_id, "request_uri": answer.json()["request_uri"]}
        return f"{meta['authorization_endpoint']}?{urlencode(query)}", verifier

    def exchange(self, *, redirect_url: str, verifier: str) -> dict[str, Any]:
        """The code of the redirect for DPoP-bound tokens (retried once with a nonce)."""
        meta = self.discover()
        query = parse_qs(urlsplit(redirect_url).query)
        if query.get("iss", [""])[0] != meta["issuer"]:
            raise ValueError("the authorization response is not from this issuer (RFC 9207)")
        if "code" not in query:
            raise ValueError(f"no code: {query.get('error_description', query.get('error'))}")
        url = meta["token_endpoint"]
        data = {
            "grant_type": "authorization_code",
            "client_id": self.client_id,
            "code": query["code"][0],
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        for _ in range(2):
            answer = self.http.post(
                url, data=data, headers={"DPoP": self.proof("POST", url)}, timeout=10
            )
            self.nonce = answer.headers.get("DPoP-Nonce", self.nonce)
            if answer.status_code != 400 or answer.json().get("error") != "use_dpop_nonce":
                break
        answer.raise_for_status()
        return dict(answer.json())

    def call(self, method: str, path: str, token: str, body: Any = None) -> requests.Response:
        url = f"{self.base}{path}"
        headers = {"Authorization": f"DPoP {token}", "DPoP": self.proof(method, url, token)}
        return self.http.request(method, url, headers=headers, json=body, timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", default=DEMO_APP)
    parser.add_argument("--redirect-uri", default=DEMO_REDIRECT)
    parser.add_argument("--write", action="store_true", help="Also ask for consents:write")
    args = parser.parse_args()
    app = CitizenApp(
        base=args.base.rstrip("/"), client_id=args.client_id, redirect_uri=args.redirect_uri
    )
    scope = "consents:read consents:write" if args.write else "consents:read"
    url, verifier = app.push(scope)
    print(f"Open as the citizen and approve:\n  {url}")
    redirect_url = input("Paste the URL you were redirected to: ").strip()
    token = app.exchange(redirect_url=redirect_url, verifier=verifier)
    access = token["access_token"]
    print(
        f"token_type={token['token_type']} scope={token['scope']} expires_in={token['expires_in']}"
    )
    consents = app.call("GET", "/api/v1/me/consents", access).json()["consents"]
    for consent in consents:
        print(f"{consent['id']}  {consent['kind']:<18} {consent['status']}")
    active = [c for c in consents if c["status"] == "active"]
    if args.write and active:
        path = f"/api/v1/me/consents/{active[0]['id']}"
        paused = app.call("POST", f"{path}/pause", access, {"reason": "from my app"})
        print("pause:", paused.status_code, paused.json().get("status"))
        resumed = app.call("POST", f"{paused.json()['_links']['self']['href']}/resume", access, {})
        print("resume:", resumed.status_code, resumed.json().get("status"))


if __name__ == "__main__":
    main()
