"""The authorize page's words as citizens read them (review of 2026-11-30): one date format per
language, the dashboard's terms, the provider named, no organisation OIDs."""

import html as html_lib
import re

import pytest
from django.test import Client

from consents.models import Consent
from tests.conftest import PROVIDER_OID
from tests.provider_api.conftest import (
    ProviderClient,
    authorize,
    authorize_params,
    pkce,
    pushed_query,
)

# request_consent ends the consent 90 days after the frozen clock: 31.5.2026 09:30 UTC,
# 12.30 in Helsinki (summer time).
VALID_UNTIL = {"fi": "31.5.2026 klo 12.30", "sv": "31.5.2026 kl. 12.30"}
ALREADY_GIVEN = {
    "fi": (
        "Olet jo antanut tämän suostumuksen. Hyväksymällä sallit, että palveluntuottaja "
        "Terveys Oy käyttää sitä palvelussaan."
    ),
    "sv": (
        "Du har redan gett detta samtycke. Genom att godkänna låter du tjänsteproducenten "
        "Terveys Oy använda det i sin tjänst."
    ),
}


def _page(browser: Client, provider_client: ProviderClient, consent: Consent, lang: str) -> str:
    _, challenge = pkce()
    query = pushed_query(
        provider_client, authorize_params(provider_client.client_id, consent.id, challenge)
    )
    page = browser.get("/o/authorize/", query, HTTP_ACCEPT_LANGUAGE=lang)
    assert page.status_code == 200, page.content[:2000]
    return html_lib.unescape(page.content.decode())


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_authorize_page_writes_the_end_date_as_the_dashboard_does(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent, lang: str
) -> None:
    html = _page(citizen_browser, provider_client, consent_request, lang)
    text = re.sub(r"<[^>]+>", "", html)  # what is read (<time datetime> stays ISO for machines)
    # in the list and in the notice text alike, never a long month name or an ISO date
    assert text.count(VALID_UNTIL[lang]) == 2
    assert "2026-05-31" not in text and "EEST" not in text
    assert "toukokuuta" not in text and "kello" not in text and " maj " not in text


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_authorize_page_shows_no_organisation_oid(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent, lang: str
) -> None:
    html = _page(citizen_browser, provider_client, consent_request, lang)
    assert "Terveys Oy" in html
    assert PROVIDER_OID not in html


def test_swedish_authorize_page_declines_with_the_dashboards_word(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    html = _page(citizen_browser, provider_client, consent_request, "sv")
    assert ">Avböj</button>" in html
    assert "Avslå" not in html


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_an_already_given_consent_names_the_provider_that_may_use_it(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent, lang: str
) -> None:
    before = _page(citizen_browser, provider_client, consent_request, lang)
    assert ALREADY_GIVEN[lang] not in before  # only once the consent is in force
    authorize(citizen_browser, provider_client.client_id, consent_request.id)
    after = _page(citizen_browser, provider_client, consent_request, lang)
    assert ALREADY_GIVEN[lang] in after
    assert "hyväksynyt tämän suostumuksen" not in after and "godkänt detta" not in after
