"""The consent-bound authorization-code flow, in-process: what works and what is refused."""

import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import time_machine
from django.test import Client

from consents import services
from consents.models import Consent
from consents.states import Status
from mydata_operator.identity.models import Person
from mydata_operator.provider_api.models import ConsentAuthorization, TokenBinding
from tests.provider_api.conftest import (
    REDIRECT,
    ProviderClient,
    authorize,
    authorize_params,
    details,
    exchange,
    pkce,
    push,
    pushed_query,
    request_consent,
    token_request,
)


def _error(location: str) -> dict[str, str]:
    query = parse_qs(urlparse(location).query)
    return {k: v[0] for k, v in query.items()}


def test_approving_at_authorize_page_approves_the_consent_and_issues_a_bound_token(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    token = exchange(Client(), provider_client, auth)
    assert token.status_code == 200, token.content
    body = token.json()
    assert body["expires_in"] == 300
    assert body["authorization_details"][0]["consentId"] == str(consent_request.id)
    consent_request.refresh_from_db()
    assert consent_request.status == Status.ACTIVE
    assert consent_request.notice is not None
    assert "Terveys Oy" in consent_request.notice.text
    assert (
        TokenBinding.objects.filter(authorization__consent_lineage=consent_request.lineage).count()
        == 2
    )


def test_authorization_response_carries_the_issuer(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    params = _error(auth.location)
    assert params["iss"] == "http://127.0.0.1:8000"
    assert params["state"] == "st-1"


def test_rejecting_at_authorize_page_rejects_the_request_and_answers_access_denied(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id, allow=False)
    assert _error(auth.location)["error"] == "access_denied"
    consent_request.refresh_from_db()
    assert consent_request.status == Status.REJECTED


def test_authorize_page_shows_who_asks_for_what(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    page = citizen_browser.get(
        "/o/authorize/",
        pushed_query(
            provider_client,
            authorize_params(provider_client.client_id, consent_request.id, challenge),
        ),
    )
    html = page.content.decode()
    assert "Terveys Oy" in html and "1.2.246.10.1234567.10.0" not in html  # no OIDs
    assert "Diagnoosit" in html and "Lääkitys" in html  # in the citizen's language
    assert "Terveydenhuollon palveluntuottaja" in html


def test_authorize_page_speaks_swedish_when_asked(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    page = citizen_browser.get(
        "/o/authorize/",
        pushed_query(
            provider_client,
            authorize_params(provider_client.client_id, consent_request.id, challenge),
        ),
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    html = page.content.decode()
    assert "ber om ditt samtycke" in html and "Godkänn" in html


def test_authorize_page_sends_the_anonymous_visitor_to_log_in(
    provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    page = Client().get(
        "/o/authorize/", authorize_params(provider_client.client_id, consent_request.id, challenge)
    )
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")


def test_an_approved_consent_can_be_authorized_again_without_a_new_approval(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    authorize(citizen_browser, provider_client.client_id, consent_request.id)
    second = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    assert exchange(Client(), provider_client, second).status_code == 200
    assert Consent.objects.get(id=consent_request.id).version == 1


# --- PKCE ------------------------------------------------------------------------------------


def test_wrong_pkce_verifier_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    answer = exchange(Client(), provider_client, auth, code_verifier=pkce()[0])
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert "access_token" not in answer.json()


def test_missing_pkce_verifier_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    answer = exchange(Client(), provider_client, auth, code_verifier=None)  # type: ignore[arg-type]
    assert answer.status_code == 400
    assert answer.json()["error"] in {"invalid_request", "invalid_grant"}
    assert "verifier" in answer.json().get("error_description", "").lower()


def test_authorization_without_a_code_challenge_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    params = authorize_params(
        provider_client.client_id,
        consent_request.id,
        "x",
        code_challenge=None,
        code_challenge_method=None,
    )
    answer = push(provider_client, params)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_plain_pkce_method_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    verifier, _ = pkce()
    params = authorize_params(
        provider_client.client_id, consent_request.id, verifier, code_challenge_method="plain"
    )
    answer = push(provider_client, params)
    assert answer.status_code == 400
    error = answer.json()
    assert error["error"] == "invalid_request" and "S256" in error["error_description"]
    assert Consent.objects.get(id=consent_request.id).status == Status.REQUESTED


# --- Redirect URIs and codes -----------------------------------------------------------------


def test_redirect_uri_that_is_not_exact_is_refused_without_redirecting(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    for wrong in (REDIRECT + "/evil", REDIRECT + "?x=1", REDIRECT.replace("https", "http")):
        params = authorize_params(
            provider_client.client_id, consent_request.id, challenge, redirect_uri=wrong
        )
        answer = push(provider_client, params)
        assert answer.status_code == 400, wrong
        assert answer.json()["error"] == "invalid_request", wrong


def test_token_request_with_another_redirect_uri_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    answer = exchange(Client(), provider_client, auth, redirect_uri=REDIRECT + "/other")
    assert answer.status_code == 400
    assert answer.json()["error"] in {"invalid_request", "invalid_grant"}


def test_reused_code_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    assert exchange(Client(), provider_client, auth).status_code == 200
    again = exchange(Client(), provider_client, auth)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_expired_code_is_refused(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    frozen_now: datetime,
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    with time_machine.travel(frozen_now + timedelta(seconds=61), tick=False):
        answer = exchange(Client(), provider_client, auth)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_code_is_refused_once_the_consent_was_withdrawn(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    citizen: Person,
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    services.consent_withdraw(
        consent=Consent.objects.get(id=consent_request.id), actor=services.Actor.person(citizen.id)
    )
    answer = exchange(Client(), provider_client, auth)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_code_of_provider_a_cannot_be_exchanged_by_provider_b(
    citizen_browser: Client,
    provider_client: ProviderClient,
    other_provider_client: ProviderClient,
    consent_request: Consent,
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    answer = exchange(Client(), other_provider_client, auth)
    assert answer.status_code == 400
    assert "access_token" not in answer.json()


# --- authorization_details -------------------------------------------------------------------


def _refused(
    browser: Client, client_id: str, consent_id: object, **overrides: str
) -> dict[str, str]:
    _, challenge = pkce()
    pushed = push(client_id, authorize_params(client_id, consent_id, challenge, **overrides))
    if pushed.status_code != 201:  # refused before any citizen saw it
        assert pushed.status_code == 400, pushed.content[:500]
        return dict(pushed.json())
    answer = browser.get(
        "/o/authorize/", {"client_id": client_id, "request_uri": pushed.json()["request_uri"]}
    )
    assert answer.status_code == 302, answer.content[:500]
    return _error(answer["Location"])


def test_authorization_without_authorization_details_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    error = _refused(
        citizen_browser, provider_client.client_id, consent_request.id, authorization_details=""
    )
    assert error["error"] == "invalid_authorization_details"


def test_provider_b_cannot_authorize_provider_a_consent(
    citizen_browser: Client, other_provider_client: ProviderClient, consent_request: Consent
) -> None:
    error = _refused(citizen_browser, other_provider_client.client_id, consent_request.id)
    assert error["error"] == "invalid_authorization_details"
    assert error["error_description"] == (
        "No such consent request for this client and this signed-in person."
    )
    assert Consent.objects.get(id=consent_request.id).status == Status.REQUESTED


def test_an_agent_cannot_authorize_a_kind_their_mandate_does_not_cover(
    citizen: Person,
    citizen_browser: Client,
    provider_client: ProviderClient,
    other_citizen: Person,
    frozen_now: datetime,
) -> None:
    from consents import services
    from consents.models import Mandate

    services.mandate_create(
        principal_id=other_citizen.id,
        agent_id=citizen.id,
        basis=Mandate.Basis.MANDATE,
        kinds=["needs-assessment"],
        actor=services.Actor.person(other_citizen.id),
    )
    theirs = request_consent(other_citizen, frozen_now)  # provider-sharing
    refused = _refused(citizen_browser, provider_client.client_id, theirs.id)
    unknown = _refused(
        citizen_browser, provider_client.client_id, "7b0c5a52-8a49-4d7e-9d43-3f0d2f0f0f0f"
    )
    assert refused == unknown
    assert Consent.objects.get(id=theirs.id).status == Status.REQUESTED


def test_another_citizens_consent_is_refused_like_an_unknown_one(
    citizen_browser: Client,
    provider_client: ProviderClient,
    other_citizen: Person,
    frozen_now: datetime,
) -> None:
    theirs = request_consent(other_citizen, frozen_now)
    mine = _refused(citizen_browser, provider_client.client_id, theirs.id)
    unknown = _refused(
        citizen_browser, provider_client.client_id, "7b0c5a52-8a49-4d7e-9d43-3f0d2f0f0f0f"
    )
    assert mine == unknown
    assert Consent.objects.get(id=theirs.id).status == Status.REQUESTED


def test_authorization_details_wider_than_the_consent_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    wide = details(consent_request.id, datatypes=["conditions", "immunizations"])
    error = _refused(
        citizen_browser, provider_client.client_id, consent_request.id, authorization_details=wide
    )
    assert error["error"] == "invalid_authorization_details"
    assert "immunizations" in error["error_description"]


def test_authorization_details_of_another_type_is_refused(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    other = json.dumps([{"type": "payment_initiation", "consentId": str(consent_request.id)}])
    error = _refused(
        citizen_browser, provider_client.client_id, consent_request.id, authorization_details=other
    )
    assert "tahto_consent" in error["error_description"]


def test_a_withdrawn_consent_cannot_be_authorized(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    citizen: Person,
) -> None:
    authorize(citizen_browser, provider_client.client_id, consent_request.id)
    services.consent_withdraw(
        consent=Consent.objects.get(id=consent_request.id), actor=services.Actor.person(citizen.id)
    )
    error = _refused(citizen_browser, provider_client.client_id, consent_request.id)
    assert error["error"] == "access_denied"


def test_authorization_binds_the_code_to_the_consent_and_the_citizen(
    citizen_browser: Client,
    provider_client: ProviderClient,
    consent_request: Consent,
    citizen: Person,
) -> None:
    authorize(citizen_browser, provider_client.client_id, consent_request.id)
    bound = ConsentAuthorization.objects.get()
    assert bound.consent_lineage == consent_request.lineage
    assert bound.authorized_by == citizen.id and bound.subject_id == citizen.id
    assert bound.organisation_id == provider_client.provider.organisation_id


def test_token_endpoint_refuses_a_client_with_a_wrong_secret(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    auth = authorize(citizen_browser, provider_client.client_id, consent_request.id)
    wrong = ProviderClient(provider_client.provider, provider_client.client_id, "nope")
    answer = token_request(
        Client(),
        wrong,
        grant_type="authorization_code",
        code=auth.code,
        redirect_uri=REDIRECT,
        code_verifier=auth.verifier,
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_an_altered_redirect_uri_in_the_posted_form_is_never_redirected_to(
    citizen_browser: Client, provider_client: ProviderClient, consent_request: Consent
) -> None:
    _, challenge = pkce()
    page = citizen_browser.get(
        "/o/authorize/",
        pushed_query(
            provider_client,
            authorize_params(provider_client.client_id, consent_request.id, challenge),
        ),
    )
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    data.update(allow="true", redirect_uri="https://evil.example/cb", state="forged")
    answer = citizen_browser.post("/o/authorize/", data)
    # The answer uses the pushed request's parameters, never the form's copies of them.
    assert answer.status_code == 302
    assert answer["Location"].startswith(REDIRECT + "?")
    assert _error(answer["Location"]).get("state") == "st-1"
