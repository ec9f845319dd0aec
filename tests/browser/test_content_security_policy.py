"""Under the strict Content-Security-Policy the pages still work in Chromium, and the browser
reports no violation: dashboard, regulator, OAuth authorize page, admin, API docs."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.fixtures.live import LiveService
from tests.provider_api.test_live_provider_flow import AINO, ensure_demo_password

pytestmark = pytest.mark.browser

#: Runs before any page script (through the DevTools protocol, so the policy does not apply
#: to it) and records every violation the page reports.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.fixture
def watched(page: Any) -> Any:
    page.add_init_script(WATCH)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.console_errors = console
    return page


def violations(page: Any) -> list[str]:
    reported = list(page.evaluate("window.__violations || []"))
    blocked = [m for m in page.console_errors if "Content Security Policy" in m]
    return reported + blocked


def sign_in(page: Any, base: str, username: str, admin: bool = False) -> None:
    page.goto(f"{base}{'/admin/login/' if admin else '/accounts/login/'}")
    page.fill("#id_username", username)
    page.fill("#id_password", f"tahto-demo-{username}")
    with page.expect_navigation():
        page.click("#login-form input[type=submit]" if admin else "main form button[type=submit]")
    assert "/login/" not in page.url, f"{username} did not get signed in"


def test_dashboard_and_regulator_pages_run_without_violations(
    live_service: LiveService, watched: Any
) -> None:
    base = live_service.url
    for username in ("aino", "valvoja"):
        ensure_demo_password(live_service, username)
    sign_in(watched, base, "aino")
    for path in ("/consents/", "/consents/new/provider-sharing/", "/disclosures/", "/security/"):
        watched.goto(f"{base}{path}")
        assert watched.url == f"{base}{path}", path  # signed in: not sent to the login page
        # the stylesheet applied: a file, allowed by style-src 'self'
        assert watched.evaluate("document.styleSheets.length") >= 1, path
        assert violations(watched) == [], path
    watched.context.clear_cookies()
    sign_in(watched, base, "valvoja")
    for path in ("/regulator/", "/regulator/export/", "/regulator/statistics/"):
        answer = watched.goto(f"{base}{path}")
        assert answer is not None and answer.status < 400, path
        assert watched.url == f"{base}{path}", path
        assert violations(watched) == [], path


def test_admin_runs_without_violations(live_service: LiveService, watched: Any) -> None:
    base = live_service.url
    ensure_demo_password(live_service, "admin")
    sign_in(watched, base, "admin", admin=True)
    for path in ("/admin/", "/admin/identity/person/", "/admin/auth/user/1/change/"):
        answer = watched.goto(f"{base}{path}")
        assert answer is not None and answer.status == 200, path
        assert watched.url == f"{base}{path}", path
        assert violations(watched) == [], path


def test_api_docs_render_without_violations(live_service: LiveService, watched: Any) -> None:
    watched.goto(f"{live_service.url}/api/docs/")
    watched.wait_for_selector(".swagger-ui .info .title")
    assert "Tahto operator API" in watched.inner_text(".swagger-ui .info .title")
    assert [v for v in violations(watched) if v.startswith("script-src")] == []


def test_oauth_authorize_page_runs_without_violations(
    live_service: LiveService, watched: Any
) -> None:
    base = live_service.url
    ensure_demo_password(live_service, "aino")
    client = live_service.demo_client("terveys-oy")
    asked = requests.post(
        f"{base}/api/v1/consent-requests",
        headers={"Authorization": f"Bearer {client.assertion()}"},
        json={
            "kind": "provider-sharing",
            "scope": {
                "recipient": {"organisation": "1.2.246.10.1234567.10.0", "name": "Terveys Oy"},
                "dataCategories": ["conditions"],
                "purpose": "care",
            },
            "period": {"end": (datetime.now(UTC) + timedelta(days=60)).isoformat()},
            "subject": {"personalIdentityCode": AINO},
        },
        timeout=10,
    )
    assert asked.status_code == 201, asked.text
    url, _verifier = client.push(
        redirect_uri="http://127.0.0.1:8765/callback", consent_id=asked.json()["consentId"]
    )
    sign_in(watched, base, "aino")
    watched.goto(url)
    assert watched.locator("button.approve").count() == 1, watched.inner_text("body")
    # its stylesheet is a file now and applies: the approve button is the dark blue one
    colour = watched.evaluate(
        "getComputedStyle(document.querySelector('button.approve')).backgroundColor"
    )
    assert colour == "rgb(11, 83, 148)"
    assert violations(watched) == []
