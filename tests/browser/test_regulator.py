"""The regulator's pages in headless Chromium against the live service (demo data).

Signs in as the demo regulator (valvoja), searches by personal identity code, drills down
from a disclosure to the consent that permitted it, exports the selection and verifies the
download with tools/tahto_verify.py, and looks at the statistics and the log's integrity.
axe-core checks every page; screenshots go to docs/screenshots/regulator-*.png.
"""

import json
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
    page.goto(f"{base}/accounts/login/?next=/regulator/")
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
    assert "decision.permit" in page.locator("#decisions-h + div").inner_text()
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
