"""The authorize page in a real browser: the citizen signs in, reads, approves; accessible."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.fixtures.browser import assert_accessible, screenshot
from tests.fixtures.live import LiveService
from tests.provider_api.test_live_provider_flow import AINO, ensure_demo_password

CLIENT = "terveys-oy"
CALLBACK = "http://127.0.0.1:8765/callback"


@pytest.mark.browser
def test_citizen_approves_a_provider_request_on_an_accessible_page(
    live_service: LiveService, page: Any
) -> None:
    base = live_service.url
    ensure_demo_password(live_service, "aino")
    client = live_service.demo_client(CLIENT)
    asked = requests.post(
        f"{base}/api/v1/consent-requests",
        headers={"Authorization": f"Bearer {client.assertion()}"},
        json={
            "kind": "provider-sharing",
            "scope": {
                "recipient": {"organisation": "1.2.246.10.1234567.10.0", "name": "Terveys Oy"},
                "dataCategories": ["conditions", "medications"],
                "purpose": "care",
            },
            "period": {"end": (datetime.now(UTC) + timedelta(days=60)).isoformat()},
            "subject": {"personalIdentityCode": AINO},
        },
        timeout=10,
    )
    assert asked.status_code == 201, asked.text
    consent_id = asked.json()["consentId"]
    url, _verifier = client.push(redirect_uri=CALLBACK, consent_id=consent_id)
    page.route(f"{CALLBACK}**", lambda route: route.fulfill(status=200, body="callback"))
    page.goto(url)
    page.fill("#id_username", "aino")
    page.fill("#id_password", "tahto-demo-aino")
    page.click("form.narrow button[type=submit]")
    page.wait_for_selector("#notice")
    assert "Terveys Oy" in page.inner_text("main")
    assert_accessible(page, "authorize page")
    screenshot(page, "provider-authorize")
    page.click("button.approve")
    page.wait_for_url(f"{CALLBACK}**")
    params = parse_qs(urlparse(page.url).query)
    assert params["code"][0] and params["iss"] == [base]
    status = requests.get(
        f"{base}/api/v1/consent-requests/{consent_id}/status",
        headers={"Authorization": f"Bearer {client.assertion()}"},
        timeout=10,
    ).json()
    assert status == {"consentStatus": "valid"}
