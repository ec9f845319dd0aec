"""The citizen's dashboard in headless Chromium against the live service (demo data).

A handful of journeys, each through the real pages: sign in, grant each kind, withdraw,
approve a provider's request, download and verify a receipt, act as a guardian, switch
language. axe-core checks every distinct page; screenshots go to docs/screenshots/.
"""

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.browser import assert_accessible, screenshot

pytestmark = pytest.mark.browser

TERVEYS = "1.2.246.10.1234567.10.0"
COUNTY = "1.2.246.10.2345678.10.0"
BIOBANK = "1.2.246.10.7654321.10.1"


@pytest.fixture(scope="module", autouse=True)
def demo_passwords(live_service: Any) -> None:
    """Give the demo citizens their documented passwords (tahto-demo-<username>).

    demo_data creates the users with an empty password, which Django counts as usable, so
    its `set_password` never runs; setting them again here is harmless once that is fixed.
    """
    live_service.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model\n"
        "for u in get_user_model().objects.filter(username__in=['aino', 'liisa', 'eero']):\n"
        "    u.set_password('tahto-demo-' + u.username); u.save()",
    )


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/consents/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"tahto-demo-{username}")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/consents/")


def submit(page: Any, selector: str = "main form button[type=submit]") -> None:
    with page.expect_navigation():
        page.click(selector)


def fill_grant(page: Any, kind: str) -> None:
    if kind == "provider-sharing":
        page.select_option("#id_recipient", COUNTY)
        page.check("input[name=data_categories][value=immunizations]")
        page.check("input[name=purpose][value=care-coordination]")
    elif kind == "wellbeing-sharing":
        page.check("input[name=data_categories][value=sleep]")
        page.check("input[name=sources] >> nth=0")
        page.check("#id_kanta_phr")
    elif kind == "needs-assessment":
        page.check(f"input[name=senders][value='{COUNTY}']")
        page.check("input[name=channels][value=letter]")
        page.check("input[name=life_areas][value=housing]")
    elif kind == "biobank":
        page.select_option("#id_biobank", BIOBANK)
        page.check("#id_collect_samples")
        page.check("input[name=sample_types][value=blood]")
        page.check("input[name=data_categories][value=samples]")
        page.check("input[name=permission][value=HMB]")
        page.check("input[name=modifiers][value=NPU]")


def test_citizen_signs_in_grants_each_kind_and_withdraws_one(live_service: Any, page: Any) -> None:
    base = live_service.url
    page.goto(f"{base}/accounts/login/")
    assert_accessible(page, "login")
    screenshot(page, "dashboard-login")
    sign_in(page, base, "aino")
    assert page.locator("h1").inner_text() == "Omat suostumukset"
    assert_accessible(page, "overview")

    for number, kind in enumerate(
        ["provider-sharing", "wellbeing-sharing", "needs-assessment", "biobank"]
    ):
        page.goto(f"{base}/consents/new/{kind}/")
        if number == 0:
            submit(page)  # empty form: the error summary, linked to the fields
            assert page.locator(".error-summary a").count() >= 2
            assert_accessible(page, "grant form with errors")
        fill_grant(page, kind)
        if kind == "biobank":
            assert_accessible(page, "biobank grant form")
            screenshot(page, "dashboard-grant-biobank")
        submit(page)
        assert page.locator("#notice-text").is_visible()
        if number == 0:
            assert page.locator("tr.changes").count() == 1  # immunizations: denied -> permitted
            assert_accessible(page, "grant confirmation")
            screenshot(page, "dashboard-grant-confirm")
        submit(page, "button[name=step][value=confirm]")
        assert page.locator(".message-success").is_visible()
        if number == 0:
            assert_accessible(page, "consent detail")
            screenshot(page, "dashboard-consent-detail")

    page.goto(f"{base}/consents/")
    screenshot(page, "dashboard-overview")
    withdraw = page.locator("a.danger").first
    with page.expect_navigation():
        withdraw.click()
    assert_accessible(page, "withdraw confirmation")
    screenshot(page, "dashboard-withdraw")
    submit(page)
    assert page.locator(".badge-withdrawn").first.is_visible()


def test_citizen_approves_a_request_and_verifies_its_receipt(
    live_service: Any, page: Any, tmp_path: Path
) -> None:
    base = live_service.url
    sign_in(page, base, "aino")
    page.goto(f"{base}/requests/")
    assert "Terveys Oy" in page.locator("main").inner_text()
    assert_accessible(page, "requests")
    screenshot(page, "dashboard-requests")
    with page.expect_navigation():
        page.locator("main a.button").first.click()
    assert_accessible(page, "answer a request")
    submit(page, "button[name=answer][value=approve]")
    assert page.locator(".badge-active").first.is_visible()

    with page.expect_download() as download_info:
        page.locator("a[download]").last.click()
    receipt = tmp_path / "receipt.jws"
    download_info.value.save_as(receipt)
    assert receipt.read_text().count(".") == 2

    page.goto(f"{base}/receipts/verify/")
    page.set_input_files("#id_receipt_file", str(receipt))
    submit(page)
    assert page.locator(".result-ok").is_visible()
    assert_accessible(page, "receipt verified")
    screenshot(page, "dashboard-receipt-verify")

    page.goto(f"{base}/receipts/verify/")
    page.fill("#id_receipt_text", receipt.read_text()[:-6] + "AAAAAA")
    submit(page)
    assert page.locator(".result-fail").is_visible()

    page.goto(f"{base}/disclosures/")
    assert_accessible(page, "disclosures")
    screenshot(page, "dashboard-disclosures")

    page.goto(f"{base}/security/")
    assert_accessible(page, "sign-in security")


def test_guardian_gives_a_consent_for_the_child(live_service: Any, page: Any) -> None:
    base = live_service.url
    sign_in(page, base, "liisa")
    assert "Onni Mäkinen" in page.locator("main").inner_text()
    screenshot(page, "dashboard-guardian")
    page.goto(f"{base}/consents/")
    with page.expect_navigation():  # act for Onni: his consents, not among Liisa's own
        page.locator(".switcher button").first.click()
    assert "Onni Mäkinen" in page.locator(".acting-for").inner_text()
    child_link = page.locator("a[href*='/consents/new/needs-assessment/?for=']")
    with page.expect_navigation():
        child_link.click()
    assert page.locator(".on-behalf").is_visible()
    fill_grant(page, "needs-assessment")
    submit(page)
    assert "Onni Mäkinen" in page.locator("#notice-text").inner_text()
    submit(page, "button[name=step][value=confirm]")
    assert page.locator(".message-success").is_visible()
    assert "Onni Mäkinen" in page.locator("main").inner_text()


def test_language_can_be_switched_to_swedish_and_english(live_service: Any, page: Any) -> None:
    base = live_service.url
    page.goto(f"{base}/")
    assert page.locator("html").get_attribute("lang") == "fi"
    assert_accessible(page, "landing")
    for code, heading in (
        ("sv", "Dina samtycken på ett ställe"),
        ("en", "Your consents in one place"),
    ):
        page.select_option("#language-select", code)
        submit(page, "form.language button")
        assert page.locator("html").get_attribute("lang") == code
        assert page.locator("h1").inner_text() == heading
    screenshot(page, "dashboard-landing-en")
