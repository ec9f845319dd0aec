"""The regulator's pages in headless Chromium against the live service (demo data).

Signs in as the demo regulator (valvoja), searches by personal identity code, drills down
from a disclosure to the consent that permitted it, exports the selection and verifies the
download with tools/tahto_verify.py, and looks at the statistics and the log's integrity.
axe-core checks every page; screenshots go to docs/screenshots/regulator-*.png.
"""

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schemas.hetu import make_hetu
from tests.fixtures.browser import assert_accessible, screenshot

pytestmark = pytest.mark.browser

TOOL = Path(__file__).resolve().parents[2] / "tools" / "tahto_verify.py"
AINO = make_hetu(date(1985, 4, 12), 902)
TERVEYS = "1.2.246.10.1234567.10.0"


@pytest.fixture(scope="module", autouse=True)
def disclosures(live_service: Any) -> None:
    """Two data requests by Terveys Oy for Aino's data: one permitted, one denied."""
    live_service.manage(
        "shell",
        "-c",
        "from django.utils import timezone\n"
        "from consents.policy import DecisionRequest, Flow, Recipient, decide_and_log\n"
        "from mydata_operator.identity.models import Person\n"
        f"aino = Person.objects.get(personal_identity_code='{AINO}')\n"
        "for cats in (['conditions'], ['x-ray-images']):\n"
        "    decide_and_log(DecisionRequest(subject_id=aino.id, flow=Flow.PROVIDER_ACCESS,\n"
        f"        recipient=Recipient(organisation='{TERVEYS}'), at=timezone.now(),\n"
        "        purpose='care', data_categories=frozenset(cats)),\n"
        f"        requested_by='{TERVEYS}')\n",
    )


def sign_in(page: Any, base: str) -> None:
    """Sign in from the front page's sign-in: a regulator lands on the regulator's pages."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "valvoja")
    page.fill("#id_password", "tahto-demo-valvoja")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/regulator/")


def test_regulator_searches_by_identity_code_and_drills_down_to_the_consent(
    live_service: Any, page: Any
) -> None:
    base = live_service.url
    sign_in(page, base)
    assert page.locator("table.results tbody tr").count() > 0
    assert_accessible(page, "regulator search")
    screenshot(page, "regulator-search")

    page.fill("#id_subject", "120485-9021")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator("#id_subject").get_attribute("aria-invalid") == "true"
    assert page.locator("#id_subject_error").is_visible()
    assert_accessible(page, "regulator search error")
    screenshot(page, "regulator-search-error")

    page.fill("#id_subject", AINO)
    page.locator("details summary").click()
    page.check("input[name=event][value='decision.permit']")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    rows = page.locator("table.results tbody tr")
    assert rows.count() >= 1  # other journeys on the shared live service may add more
    assert all("decision.permit" in text for text in rows.all_inner_texts())

    with page.expect_navigation():
        rows.first.locator("a").first.click()
    assert page.locator("#decided-h").is_visible()
    assert page.locator("#proof-h + p.ok").is_visible()  # inclusion proof verified
    assert_accessible(page, "regulator entry")
    screenshot(page, "regulator-entry")

    with page.expect_navigation():
        page.click("#decided-h ~ p a[href*='/regulator/consents/']")
    assert page.locator("#versions-h").is_visible()
    assert "consent.granted" in page.locator(".timeline").inner_text()
    assert "decision.permit" in page.locator("#decisions").inner_text()
    assert_accessible(page, "regulator consent history")
    screenshot(page, "regulator-consent")


def test_regulator_exports_a_selection_that_verifies_independently(
    live_service: Any, page: Any, tmp_path: Path
) -> None:
    base = live_service.url
    sign_in(page, base)
    page.goto(f"{base}/regulator/export/?subject={AINO}")
    expected = int(page.locator("#estimate").get_attribute("data-count"))
    assert expected > 0
    assert_accessible(page, "regulator export")

    head_link = page.locator("ol.downloads a").nth(0).get_attribute("href")
    head = page.request.get(f"{base}{head_link}").json()
    (tmp_path / "head.json").write_text(json.dumps(head))
    jwks = page.request.get(f"{base}/regulator/api/jwks.json").json()
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))

    with page.expect_download() as info:
        page.click("a.export-link >> nth=0")
    path = tmp_path / "export.jsonl"
    info.value.save_as(path)
    # The progress bar counted every line against the estimate before handing the file over.
    assert page.evaluate("document.getElementById('export-bar').value") == expected
    assert str(expected) in page.locator("#export-status").inner_text()
    screenshot(page, "regulator-export")

    done = subprocess.run(  # noqa: S603 - our interpreter, our script
        [
            sys.executable,
            "-I",
            str(TOOL),
            "inclusion",
            "--head",
            str(tmp_path / "head.json"),
            "--jwks",
            str(tmp_path / "jwks.json"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"verified {expected} entries")


def test_regulator_reads_statistics_and_the_logs_integrity(live_service: Any, page: Any) -> None:
    base = live_service.url
    sign_in(page, base)
    page.goto(f"{base}/regulator/statistics/")
    assert page.locator("svg.chart").count() >= 3
    assert page.locator("svg.chart pattern").count() > 0
    assert page.locator("main table").count() == page.locator("svg.chart").count()
    assert_accessible(page, "regulator statistics")
    screenshot(page, "regulator-statistics")

    page.goto(f"{base}/regulator/integrity/")
    assert page.locator("#head-status.ok").is_visible()
    assert page.locator("#consistency-alarm").count() == 0
    assert_accessible(page, "regulator integrity")
    screenshot(page, "regulator-integrity")


# --- every page in fi, sv and en, at 1280 and 320 CSS pixels --------------------------------

WORDS = {
    "fi": {
        "deny": "Tietojen luovutus estetty",
        "reason": "Suostumus ei kata",
        "provision": "Päätös",
        "denied": "Estetty",
        "csv": ";",
    },
    "sv": {
        "deny": "Utlämnande nekat",
        "reason": "Samtycket omfattar inte",
        "provision": "Beslut",
        "denied": "Nekat",
        "csv": ";",
    },
    "en": {
        "deny": "Data flow denied",
        "reason": "The consent does not cover",
        "provision": "Provision",
        "denied": "Denied",
        "csv": ",",
    },
}
ENGLISH_ONLY = "The policy decision point denied a data flow"
NOT_FOUND = {"fi": "Sivua ei löytynyt", "sv": "Sidan hittades inte", "en": "Page not found"}
#: A statistics month as each language writes it (the demo's events are this month's).
PERIOD = {"fi": r"[a-zäö]+kuu \d{4}", "sv": r"[a-z]+ \d{4}", "en": r"[A-Z][a-z]+ \d{4}"}


def at_both_widths(page: Any, name: str) -> None:
    """The page reflows at 320 px (WCAG 1.4.10) and axe finds nothing serious at either width;
    regulator navigation is on it."""
    for width in (1280, 320):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.locator("header nav a[href='/regulator/']").count() == 1, name
        assert page.locator("header nav a[href='/regulator/integrity/']").count() == 1, name
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {width} px"
        assert_accessible(page, f"{name} at {width} px")
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_regulator_pages_in_each_language_at_desktop_and_narrow_width(
    live_service: Any, page: Any, language: str, tmp_path: Path
) -> None:
    base = live_service.url
    words = WORDS[language]
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    sign_in(page, base)
    assert page.locator("html").get_attribute("lang") == language
    at_both_widths(page, f"search ({language})")

    # The form's own example identity code is accepted by the form.
    help_text = page.locator("#id_subject_helptext").inner_text()
    example = re.search(r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]", help_text)
    assert example, help_text
    page.fill("#id_subject", example.group(0))
    page.locator("details summary").click()
    page.check("input[name=event][value='decision.deny']")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator("#id_subject").get_attribute("aria-invalid") != "true"
    rows = page.locator("table.results tbody tr")
    assert rows.count() >= 1
    first = rows.first.inner_text()
    assert words["deny"] in first and "decision.deny" in first
    assert words["denied"] in first
    assert ENGLISH_ONLY not in page.content()
    title = rows.first.locator("time").get_attribute("title")
    assert title and title.endswith(" UTC")
    at_both_widths(page, f"search results ({language})")
    if language == "fi":
        page.set_viewport_size({"width": 320, "height": 900})
        screenshot(page, "regulator-search-320")
        page.set_viewport_size({"width": 1280, "height": 900})

    # The CSV of this selection opens split into columns in this language's spreadsheets.
    csv_text = page.request.get(
        f"{base}/regulator/export/entries.csv?subject={example.group(0)}&event=decision.deny"
    ).text()
    assert csv_text.startswith("\ufeffseq" + words["csv"] + "occurred_at")

    with page.expect_navigation():
        rows.first.locator("a").first.click()
    assert words["reason"] in page.locator("#reason").inner_text()
    assert page.locator("#categories code.code").count() >= 1
    if language != "en":
        assert ENGLISH_ONLY not in page.locator("main").inner_text()
    at_both_widths(page, f"entry ({language})")

    with page.expect_navigation():
        page.locator("main a[href*='/regulator/consents/']").first.click()
    assert words["provision"] in page.locator("article.version").first.inner_text()
    assert "{'" not in page.locator("main").inner_text()  # the scope is text, not a dict
    at_both_widths(page, f"consent history ({language})")

    for path, name in (
        ("/regulator/export/", "export"),
        ("/regulator/statistics/", "statistics"),
        ("/regulator/integrity/", "integrity"),
    ):
        page.goto(f"{base}{path}")
        assert page.locator("html").get_attribute("lang") == language
        at_both_widths(page, f"{name} ({language})")
        if name == "statistics":  # periods as this language writes them, not ISO
            period = page.locator("main table tbody th").first.inner_text()
            assert not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", period), period
            assert re.fullmatch(PERIOD[language], period), period

    # A page that does not exist keeps the regulator's navigation (checked at both widths).
    answer = page.goto(f"{base}/regulator/entries/999999999/")
    assert answer is not None and answer.status == 404
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("main h1").inner_text() == NOT_FOUND[language]
    at_both_widths(page, f"not found ({language})")
