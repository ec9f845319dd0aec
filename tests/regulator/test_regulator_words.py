"""The regulator's leftovers of issue 11: a not-found page that keeps the regulator's
navigation, the JSON API's problems in the language the request asks for, and statistics
periods written as people write dates (the JSON API keeps ISO)."""

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from mydata_operator.api import dates
from mydata_operator.regulator.views import period_label

pytestmark = pytest.mark.usefixtures("frozen_now")

LANGUAGES = ("fi", "sv", "en")


def regulator_in(regulator: Any, language: str, cookie: str | None = None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(regulator.user)
    if cookie:  # the language the regulator chose on the pages
        client.cookies["django_language"] = cookie
    return client


# --- 1. A regulator's not-found page ---------------------------------------------------------

NOT_FOUND_HEADING = {"fi": "Sivua ei löytynyt", "sv": "Sidan hittades inte", "en": "Page not found"}
REGULATOR_NAV = {"fi": "Valvojan sivut", "sv": "Tillsynens sidor", "en": "Regulator pages"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", ["/regulator/entries/999999999/", "/regulator/no-such-page/"])
def test_a_regulators_404_keeps_the_regulator_navigation(
    regulator: Any, populated: int, language: str, path: str
) -> None:
    response = regulator_in(regulator, language).get(path)
    assert response.status_code == 404
    text = response.content.decode()
    assert f'<html lang="{language}">' in text
    assert f"<h1>{NOT_FOUND_HEADING[language]}</h1>" in text
    assert f'<nav aria-label="{REGULATOR_NAV[language]}">' in text
    for page in ("/regulator/", "/regulator/export/", "/regulator/statistics/"):
        assert f'href="{page}"' in text
    assert 'class="skip" href="#main"' in text  # the same page frame as every regulator page


def test_the_missing_entry_says_which_thing_is_missing(regulator: Any, populated: int) -> None:
    text = regulator_in(regulator, "fi").get("/regulator/entries/999999999/").content.decode()
    assert "Tällä numerolla ei ole lokimerkintää." in text


@pytest.mark.parametrize("path", ["/regulator/no-such-page/", "/no-such-page/"])
def test_others_keep_the_sites_own_not_found_page(
    citizen_client: Client, path: str, populated: int
) -> None:
    for client in (citizen_client, Client()):
        response = client.get(path)
        assert response.status_code == 404
        text = response.content.decode()
        assert "<h1>Not Found</h1>" in text  # the site's page, as before
        assert "/regulator/statistics/" not in text


# --- 2. The regulator's JSON API answers problems in the request's language -----------------

TITLES: dict[str, dict[str, str]] = {
    "not-found": {"fi": "Ei löytynyt.", "sv": "Hittades inte.", "en": "Not found."},
    "invalid-filter": {
        "fi": "Hakuehdot eivät kelpaa.",
        "sv": "Sökvillkoren är inte giltiga.",
        "en": "The filter is not valid.",
    },
    "permission-denied": {"fi": "Ei sallittu.", "sv": "Inte tillåtet.", "en": "Not permitted."},
    "not-authenticated": {"fi": "Ei sallittu.", "sv": "Inte tillåtet.", "en": "Not permitted."},
    "invalid-proof-request": {
        "fi": "Todistetta ei voi muodostaa.",
        "sv": "Beviset kan inte skapas.",
        "en": "The proof cannot be made.",
    },
    "invalid-input": {
        "fi": "Pyynnön sisältö ei kelpaa.",
        "sv": "Begärans innehåll är inte giltigt.",
        "en": "checkpoint must be the signed note as a string",  # English keeps the precise one
    },
    "unsupported-media-type": {
        "fi": "Sisältötyyppiä ei tueta.",
        "sv": "Medietypen stöds inte.",
        "en": "Unsupported media type.",
    },
}
ONLY_REGULATORS = {
    "fi": "Vain valvojat voivat tarkastella suostumuslokia.",
    "sv": "Endast tillsynsmyndigheter får granska samtyckesloggen.",
    "en": "Only regulators may inspect the consent log.",
}


def problem(response: Any, status: int, code: str, language: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["title"] == TITLES[code][language]
    return body


@pytest.mark.parametrize("language", LANGUAGES)
def test_not_found_in_the_requests_language(regulator: Any, populated: int, language: str) -> None:
    # The pages' cookie says another language: the API follows Accept-Language all the same.
    other = "en" if language != "en" else "fi"
    client = regulator_in(regulator, language, cookie=other)
    for url in (
        "/regulator/api/entries/999999",
        "/regulator/api/tree-heads/999999",
        "/regulator/api/consents/00000000-0000-4000-8000-000000000000",
    ):
        body = problem(client.get(url), 404, "not-found", language)
        assert (
            body["detail"]
            == {
                "fi": "Tällaista ei ole, tai sinulla ei ole oikeutta nähdä sitä.",
                "sv": "Det finns inte, eller så har du inte rätt att se det.",
                "en": "No such resource, or not yours to see.",
            }[language]
        )
    body = problem(client.get("/regulator/api/no-such"), 404, "not-found", language)
    assert (
        body["detail"]
        == {
            "fi": "Osoitteessa /regulator/api/no-such ei ole mitään.",
            "sv": "Det finns ingenting på adressen /regulator/api/no-such.",
            "en": "No resource at /regulator/api/no-such.",
        }[language]
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_invalid_filter_in_the_requests_language(
    regulator: Any, populated: int, language: str
) -> None:
    client = regulator_in(regulator, language, cookie="sv" if language != "sv" else "en")
    for url, pointer in (
        ("/regulator/api/entries?kind=no-such-kind", "/kind"),
        ("/regulator/api/entries?before=x", "/cursor"),
        ("/regulator/api/statistics?date_from=yesterday", "/date_from"),
    ):
        body = problem(client.get(url), 422, "invalid-filter", language)
        [error] = body["errors"]
        assert error["pointer"] == pointer
        field = pointer.lstrip("/")
        if language == "fi":
            assert error["message"] == f"Kentän {field} arvo ei kelpaa."
        if language == "sv":
            assert error["message"] == f"Fältet {field} är inte giltigt."


@pytest.mark.parametrize("language", LANGUAGES)
def test_refusals_in_the_requests_language(
    regulator: Any, citizen_client: Client, populated: int, language: str
) -> None:
    citizen_client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    body = problem(citizen_client.get("/regulator/api/entries"), 403, "permission-denied", language)
    assert body["detail"] == ONLY_REGULATORS[language]
    # A regulator's attempt to change anything is refused the same way.
    writer = regulator_in(regulator, language)
    body = problem(writer.post("/regulator/api/entries"), 403, "permission-denied", language)
    assert body["detail"] == ONLY_REGULATORS[language]
    anonymous = Client(HTTP_ACCEPT_LANGUAGE=language)
    body = problem(anonymous.get("/regulator/api/entries"), 403, "not-authenticated", language)
    assert (
        body["detail"]
        == {
            "fi": "Autentikaatiotunnuksia ei annettu.",
            "sv": "Autentiseringsuppgifter ej tillhandahållna.",
            "en": "Authentication credentials were not provided.",
        }[language]
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_log_api_regulators_and_their_witnesses_use_answers_in_the_same_way(
    regulator: Any, populated: int, language: str
) -> None:
    client = regulator_in(regulator, language, cookie="en" if language != "en" else "sv")
    for url in (
        "/api/v1/log/proofs/inclusion",
        "/api/v1/log/proofs/inclusion?seq=1&tree_size=x",
        "/api/v1/log/proofs/consistency?first=5&second=1",
    ):
        problem(client.get(url), 400, "invalid-proof-request", language)
    for url in ("/api/v1/log/entries/999999", "/api/v1/log/entries/by-id/999999"):
        problem(client.get(url), 404, "not-found", language)
    problem(client.get("/api/v1/log/no-such"), 404, "not-found", language)
    cosign = "/api/v1/log/cosignatures"
    body = problem(
        client.post(cosign, "{}", content_type="application/json"), 422, "invalid-input", language
    )
    assert [e["pointer"] for e in body["errors"]] == ["/checkpoint"]
    problem(
        client.post(cosign, "x", content_type="text/plain"),
        415,
        "unsupported-media-type",
        language,
    )
    anonymous = Client(HTTP_ACCEPT_LANGUAGE=language)
    problem(anonymous.get("/api/v1/log/entries/1"), 403, "not-authenticated", language)


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("fi", "Tämän kokoista lokin allekirjoitettua tarkistuspistettä ei ole."),
        ("sv", "Det finns inget signerat trädhuvud av denna storlek."),
        ("en", "No signed tree head of this size."),
    ],
)
def test_export_downloads_refuse_in_the_pages_language(
    regulator: Any, populated: int, language: str, title: str
) -> None:
    client = regulator_in(regulator, language)
    unknown = client.get("/regulator/export/entries.jsonl?tree_size=999999")
    assert unknown.status_code == 400 and unknown.json()["title"] == title
    invalid = client.get("/regulator/export/entries.csv?kind=no-such-kind")
    assert invalid.status_code == 422
    assert invalid.json()["title"] == TITLES["invalid-filter"][language]


# --- 3. Statistics periods as people write dates ---------------------------------------------

PERIODS = {
    "fi": {"day": "30.11.2026", "month": "marraskuu 2026"},
    "sv": {"day": "30.11.2026", "month": "november 2026"},
    "en": {"day": "30 Nov 2026", "month": "November 2026"},
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_period_labels_in_each_language(language: str) -> None:
    with translation.override(language):
        assert period_label("2026-11-30", "day") == PERIODS[language]["day"]
        assert period_label("2026-11", "month") == PERIODS[language]["month"]
        assert period_label("2026", "year") == "2026"
        assert period_label("?", "month") == "?"  # a row without a time stays as it was
        assert period_label("2026-01-05", "day") == {"en": "5 Jan 2026"}.get(language, "5.1.2026")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_one_date_helper_writes_days_and_months(language: str) -> None:
    from datetime import UTC, date, datetime

    with translation.override(language):
        assert dates.local_date(date(2026, 11, 30)) == PERIODS[language]["day"]
        # a moment is its local (Helsinki) day: 22.30 UTC on the 29th is the 30th there
        assert (
            dates.local_date(datetime(2026, 11, 29, 22, 30, tzinfo=UTC))
            == (PERIODS[language]["day"])
        )
        assert dates.local_month(date(2026, 11, 30)) == PERIODS[language]["month"]


#: The tables' first column: a stretch of time, not a consent's validity ("Voimassaoloaika").
PERIOD_HEADING = {"fi": "Jakso", "sv": "Period", "en": "Period"}


@pytest.mark.parametrize(
    ("language", "month", "day"),
    [
        ("fi", "maaliskuu 2026", "2.3.2026"),
        ("sv", "mars 2026", "2.3.2026"),
        ("en", "March 2026", "2 Mar 2026"),
    ],
)
def test_statistics_pages_write_periods_in_the_pages_language(
    regulator: Any, populated: int, language: str, month: str, day: str
) -> None:
    client = regulator_in(regulator, language)
    text = client.get("/regulator/statistics/").content.decode()
    assert f'<th scope="col">{PERIOD_HEADING[language]}</th>' in text  # a time bucket
    assert f'<th scope="row">{month}</th>' in text  # the tables
    assert f">{month}</text>" in text  # the charts' axes
    assert "2026-03<" not in text
    text = client.get(
        "/regulator/statistics/?date_from=2026-03-01&date_to=2026-03-10"
    ).content.decode()
    assert f'<th scope="row">{day}</th>' in text and f">{day}</text>" in text
    assert "2026-03-02<" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_statistics_api_keeps_iso_periods(
    regulator: Any, populated: int, language: str
) -> None:
    client = regulator_in(regulator, language)
    assert client.get("/regulator/api/statistics").json()["periods"] == ["2026-03"]
    body = client.get("/regulator/api/statistics?date_from=2026-03-01&date_to=2026-03-10").json()
    assert body["periods"] == ["2026-03-02"]
