"""End to end over HTTP: the demo citizen app (tools/citizen_app.py: a public client with
PAR, PKCE S256 and DPoP) and Aino in a browser-like session, against the running service."""

import importlib.util
import sys
from pathlib import Path

from tests.fixtures.live import LiveService
from tests.provider_api.test_live_provider_flow import (
    citizen_session,
    ensure_demo_password,
    hidden_inputs,
)

_spec = importlib.util.spec_from_file_location(
    "citizen_app", Path(__file__).resolve().parents[2] / "tools" / "citizen_app.py"
)
assert _spec and _spec.loader
citizen_app = importlib.util.module_from_spec(_spec)
sys.modules["citizen_app"] = citizen_app
_spec.loader.exec_module(citizen_app)


def test_demo_app_reads_and_pauses_until_revoked(live_service: LiveService) -> None:
    base = live_service.url
    app = citizen_app.CitizenApp(base=base)
    url, verifier = app.push("consents:read consents:write")

    ensure_demo_password(live_service, "aino")
    aino = citizen_session(base, "aino")
    page = aino.get(url, timeout=10)
    assert page.status_code == 200 and "Oma terveys (demo)" in page.text
    form = hidden_inputs(page.text)
    approved = aino.post(
        f"{base}/o/apps/authorize",
        data={**form, "allow": "true"},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=10,
    )
    assert approved.status_code == 302, approved.text[:800]
    token = app.exchange(redirect_url=approved.headers["Location"], verifier=verifier)
    assert token["token_type"] == "DPoP" and "refresh_token" not in token
    access = token["access_token"]

    consents = app.call("GET", "/api/v1/me/consents", access).json()["consents"]
    active = [c for c in consents if c["status"] == "active"]
    assert active
    paused = app.call("POST", f"/api/v1/me/consents/{active[0]['id']}/pause", access, {})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    resumed = app.call("POST", paused.json()["_links"]["self"]["href"] + "/resume", access, {})
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert app.call("GET", "/api/v1/data/Condition", access).status_code == 401

    # Aino revokes the app on her security page; its token stops at once.
    security = aino.get(f"{base}/security/", timeout=10)
    action = security.text.split('action="/security/apps/', 1)[1].split('"', 1)[0]
    revoked = aino.post(
        f"{base}/security/apps/{action}",
        data={"csrfmiddlewaretoken": hidden_inputs(security.text)["csrfmiddlewaretoken"]},
        headers={"Referer": f"{base}/security/"},
        allow_redirects=False,
        timeout=10,
    )
    assert revoked.status_code == 302
    assert app.call("GET", "/api/v1/me/consents", access).status_code == 401
