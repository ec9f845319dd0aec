"""Every point the review of 2026-11-30 found on the citizen's pages, checked in Chromium in
fi, sv and en, at 1280 px and at 320 px (no sideways scrolling, WCAG 1.4.10), with axe-core
on every page, and grant and withdrawal done with the keyboard alone.

One test per language walks all the pages (each measured at both widths, axe once), so the
suite stays quick; the keyboard journeys run once per language at 320 px.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.browser import assert_accessible, screenshot
from tests.fixtures.live import LiveService
from tests.provider_api.test_live_provider_flow import ensure_demo_password

pytestmark = pytest.mark.browser

WIDTHS = (1280, 320)
COUNTY = "1.2.246.10.2345678.10.0"

#: Made once in the live service: a consent in force with a delivered read and a refused
#: one, a withdrawn consent and its receipt, so each page has something to show.
SETUP = """
import json
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from connectors.base import Connector, Delivery
from consents import policy, services
from consents.models import Receipt
from consents.policy import DecisionRequest, Flow, Recipient
from mydata_operator.identity.selectors import person_for_user
aino = person_for_user(get_user_model().objects.get(username="aino"))
me = services.Actor.person(aino.id)
county = {"organisation": "__COUNTY__", "name": "Demo hyvinvointialue"}
scope = {"recipient": county, "dataCategories": ["conditions"], "purpose": "care"}
kept = services.consent_grant(subject_id=aino.id, actor=me, kind="provider-sharing",
    scope=scope, notice_text="Browser test: in force.", language="fi")
ended = services.consent_grant(subject_id=aino.id, actor=me, kind="provider-sharing",
    scope=dict(scope, purpose="care-coordination"), notice_text="Browser test: ended.",
    language="fi")
services.consent_withdraw(consent=ended, actor=me)
def read(category):
    with transaction.atomic():
        return policy.decide_and_log(DecisionRequest(subject_id=aino.id,
            flow=Flow.PROVIDER_ACCESS, recipient=Recipient(organisation=county["organisation"]),
            at=timezone.now(), purpose="care", data_categories=frozenset({category})))
permit = read("conditions")
Connector().record_delivered(subject_id=aino.id, decision=permit,
    delivery=Delivery(county["organisation"], {}))
read("immunizations")
receipt = Receipt.objects.filter(consent__lineage=ended.lineage).order_by("issued_at").last()
print("SETUP" + json.dumps({"kept": str(kept.id), "ended": str(ended.id),
    "receipt": str(receipt.id)}))
""".replace("__COUNTY__", COUNTY)

#: What each language must say (and must not) on the pages the review found wanting.
WORDS: dict[str, dict[str, str]] = {
    "fi": {
        "withdrawn_on": "Peruttu",
        "not_until": "kunnes",
        "refusal": "Pyysi tietoja – ei luovutettu",  # noqa: RUF001 - en dash as on the page
        "disclosed": "Luovutettu",
        "error_title": "Virhe:",
        "go_back": "Älä peru – palaa takaisin",  # noqa: RUF001
        "made_by": "Tekijä",
        "bad_receipt": "Tiedosto ei ole Tahdon suostumuskuitti",
        "privacy": "Tietosuojaseloste",
        "accessibility": "Saavutettavuusseloste",
        "acting": "Asioit: Onni Mäkinen",
        "choose_provider": "Valitse palveluntuottaja",
        "disease": "Rintasyöpä",
    },
    "sv": {
        "withdrawn_on": "Återkallat",
        "not_until": "tills",
        "refusal": "Begärde uppgifter – inte utlämnat",  # noqa: RUF001
        "disclosed": "Utlämnat",
        "error_title": "Fel:",
        "go_back": "Återkalla inte – gå tillbaka",  # noqa: RUF001
        "made_by": "Gjort av",
        "bad_receipt": "Filen är inte ett samtyckeskvitto från Tahto",
        "privacy": "Dataskyddsbeskrivning",
        "accessibility": "Tillgänglighetsutlåtande",
        "acting": "Du sköter ärenden för: Onni Mäkinen",
        "choose_provider": "Välj tjänsteproducent",
        "disease": "Bröstcancer",
    },
    "en": {
        "withdrawn_on": "Withdrawn on",
        "not_until": "until withdrawn",
        "refusal": "Requested – not disclosed",  # noqa: RUF001
        "disclosed": "Disclosed",
        "error_title": "Error:",
        "go_back": "Don't withdraw – go back",  # noqa: RUF001
        "made_by": "Made by",
        "bad_receipt": "This file is not a Tahto consent receipt",
        "privacy": "Privacy notice",
        "accessibility": "Accessibility statement",
        "acting": "Acting for: Onni Mäkinen",
        "choose_provider": "Choose a provider",
        "disease": "Breast cancer",
    },
}


@pytest.fixture(scope="module")
def made(live_service: LiveService) -> dict[str, str]:
    for username in ("aino", "liisa"):
        ensure_demo_password(live_service, username)
    out = live_service.manage("shell", "-c", SETUP)
    line = next(x for x in out.splitlines() if x.startswith("SETUP"))
    return dict(json.loads(line[len("SETUP") :]))


@pytest.fixture
def in_language(browser: Any, live_service: LiveService, request: Any) -> Any:
    """A page whose session asks for the language given as the test's `language`."""
    language = request.getfixturevalue("language")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fi-FI")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_service.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/consents/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"tahto-demo-{username}")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.url == f"{base}/consents/", page.url


def fits(page: Any, where: str) -> None:
    """At each width, nothing makes the page scroll sideways (WCAG 1.4.10 reflow)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{where} scrolls sideways at {width} px: {scroll} > {inner}"
    page.set_viewport_size({"width": 1280, "height": 900})


def check(page: Any, where: str, *, shot: str = "") -> None:
    fits(page, where)
    assert_accessible(page, where)
    if shot:
        page.set_viewport_size({"width": 320, "height": 900})
        screenshot(page, f"{shot}-320")
        page.set_viewport_size({"width": 1280, "height": 900})
        screenshot(page, shot)


def main_text(page: Any) -> str:
    return str(page.locator("main").inner_text())


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_each_fixed_point_reads_right_and_fits_320_px(
    live_service: LiveService, made: dict[str, str], in_language: Any, language: str
) -> None:
    page, base, words = in_language, live_service.url, WORDS[language]
    shots = language == "fi"  # docs/screenshots/ show the Finnish pages
    sign_in(page, base, "aino")
    assert page.locator("html").get_attribute("lang") == language
    check(page, "overview", shot="citizen-overview" if shots else "")
    footer = page.locator("footer")
    assert footer.locator("a[href='/policy']").is_visible()
    assert footer.locator("a[href='/accessibility/']").is_visible()

    # A withdrawn consent says when it was withdrawn, never "until you withdraw it".
    page.goto(f"{base}/consents/{made['ended']}/")
    text = main_text(page)
    assert words["withdrawn_on"] in text and words["not_until"] not in text
    check(page, "withdrawn consent", shot="citizen-withdrawn-consent" if shots else "")

    # Disclosures: one row per event, refusals worded as such, each linked to its consent.
    page.goto(f"{base}/disclosures/")
    text = main_text(page)
    assert words["refusal"] in text and words["disclosed"] in text
    assert page.locator(f"table.disclosures a[href='/consents/{made['kept']}/']").count() >= 1
    check(page, "disclosures", shot="citizen-disclosures" if shots else "")

    # The grant form: no provider chosen for the person; after an error, the title says so
    # and the error summary has the focus.
    page.goto(f"{base}/consents/new/provider-sharing/")
    assert page.locator("#id_recipient").input_value() == ""
    assert page.locator("#id_recipient option:checked").inner_text() == words["choose_provider"]
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.title().startswith(words["error_title"])
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    check(page, "grant form with errors", shot="citizen-grant-errors" if shots else "")

    # The biobank form offers diseases by name, never asks for an ICD-10 code.
    page.goto(f"{base}/consents/new/biobank/")
    assert "ICD-10" not in main_text(page)
    assert words["disease"] in page.locator("#id_disease").inner_text()
    check(page, "biobank form")

    # Withdraw: the way out is not another "cancel" next to "withdraw".
    page.goto(f"{base}/consents/{made['kept']}/withdraw/")
    assert page.locator("main form a", has_text=words["go_back"]).is_visible()
    check(page, "withdraw confirmation", shot="citizen-withdraw" if shots else "")

    # The readable receipt, in the person's language, with its PDF beside the signed file.
    page.goto(f"{base}/receipts/{made['receipt']}/")
    assert words["made_by"] in main_text(page)
    assert page.locator(f"a[href='/receipts/{made['receipt']}.pdf']").is_visible()
    check(page, "readable receipt", shot="citizen-receipt" if shots else "")
    pdf = page.request.get(f"{base}/receipts/{made['receipt']}.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF-")

    # A file that is no receipt: a clear error in the page's language.
    page.goto(f"{base}/receipts/verify/")
    page.fill("#id_receipt_text", "eyJ0eXAiOm51bGx9.e30.AA")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    text = main_text(page)
    assert words["bad_receipt"] in text and "typ is None" not in text
    check(page, "receipt that is not one")

    # The privacy notice (the receipts' policyUrl) and the accessibility statement.
    for path, key in (("/policy", "privacy"), ("/accessibility/", "accessibility")):
        answer = page.goto(f"{base}{path}")
        assert answer is not None and answer.status == 200
        assert page.locator("h1").inner_text() == words[key]
        check(page, key, shot=f"citizen-{key}" if shots else "")


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_a_guardian_acting_for_the_child_sees_whose_matters_on_every_page(
    live_service: LiveService, made: dict[str, str], in_language: Any, language: str
) -> None:
    page, base, words = in_language, live_service.url, WORDS[language]
    sign_in(page, base, "liisa")
    assert words["acting"] not in page.locator("body").inner_text()  # own matters first
    with page.expect_navigation():
        page.locator(".switcher button").first.click()
    for path in ("/consents/", "/disclosures/", "/requests/", "/receipts/verify/"):
        page.goto(f"{base}{path}")
        assert words["acting"] in page.locator(".acting-for").inner_text(), path
    page.goto(f"{base}/consents/")
    cards = page.locator(".on-behalf-section .card")
    assert cards.count() >= 1
    with page.expect_navigation():
        cards.first.locator(".card-actions a").first.click()
    assert "Onni Mäkinen" in page.locator(".breadcrumb").inner_text()
    check(page, "child's consent", shot="citizen-acting-for" if language == "fi" else "")


def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"could not reach {selector} with Tab")


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_grant_and_withdraw_with_the_keyboard_alone_at_320_px(
    live_service: LiveService, made: dict[str, str], in_language: Any, language: str, tmp_path: Path
) -> None:
    page, base = in_language, live_service.url
    sign_in(page, base, "aino")
    page.set_viewport_size({"width": 320, "height": 800})
    tab_to(page, "a[href='/consents/new/provider-sharing/']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "#id_recipient")
    page.keyboard.press("ArrowDown")  # the first provider after "Choose a provider"
    assert page.locator("#id_recipient").input_value() != ""
    tab_to(page, "input[name=data_categories][value=medications]")
    page.keyboard.press("Space")
    tab_to(page, "input[name=purpose]")
    page.keyboard.press("Space")
    tab_to(page, "main form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    fits(page, "grant confirmation")
    tab_to(page, "button[name=step][value=confirm]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".message-success").is_visible()
    assert page.locator(".badge-active").first.is_visible()

    tab_to(page, "main a.button-danger")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    fits(page, "withdraw confirmation")
    tab_to(page, "main form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".badge-withdrawn").first.is_visible()
    assert WORDS[language]["withdrawn_on"] in main_text(page)
