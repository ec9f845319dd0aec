"""Citizens' native apps and the redirects of RFC 8252: their own private-use scheme (§7.1,
matched exactly) and loopback on any port (§7.3, same IP literal and path); never `localhost`
(§8.3), never a dotless or dangerous scheme, and never for a provider's client (FAPI 2.0:
exact https). The attacks are the ones someone stealing a code would try."""

from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import Application

from consents.errors import ConsentError
from consents.models import Consent
from mydata_operator.identity.models import Person
from mydata_operator.provider_api.client_keys import app_issuer
from mydata_operator.provider_api.models import ClientProfile
from mydata_operator.security.citizen_apps import (
    app_authorization_create,
    app_authorizations_revoke_for_client,
    redirect_uri_matches,
    redirect_uri_problem,
    redirect_uri_registered,
)
from mydata_operator.security.models import CitizenAppAuthorization
from mydata_operator.staff.services import StaffActor, client_redirect_uris_change
from tests.provider_api.conftest import (
    DpopKey,
    ProviderClient,
    authorize_params,
    pkce,
    push,
)

APP_ID = "native-diary"
SCHEME_REDIRECT = "fi.example.omahyvinvointi:/oauth2redirect"
LOOPBACK_REDIRECT = "http://127.0.0.1/callback"  # registered without a port (RFC 8252 §7.3)
IPV6_REDIRECT = "http://[::1]:8000/cb"
HTTPS_REDIRECT = "https://diary.example/callback"


@pytest.fixture
def native_app(db: Any) -> Application:
    call_command(
        "register_citizen_app",
        APP_ID,
        *(
            f"--redirect-uri={uri}"
            for uri in (SCHEME_REDIRECT, LOOPBACK_REDIRECT, IPV6_REDIRECT, HTTPS_REDIRECT)
        ),
        name="Oma hyvinvointi",
        stdout=StringIO(),
    )
    return Application.objects.get(client_id=APP_ID)


def app_push(redirect_uri: str, challenge: str = "") -> Any:
    return Client().post(
        "/o/apps/par",
        {
            "client_id": APP_ID,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": "consents:read",
            "state": "s1",
            "code_challenge": challenge or pkce()[1],
            "code_challenge_method": "S256",
        },
    )


def app_answer(browser: Client, redirect_uri: str, *, allow: bool = True) -> tuple[Any, str]:
    """Push, open, answer; return the answer and the PKCE verifier."""
    verifier, challenge = pkce()
    pushed = app_push(redirect_uri, challenge)
    assert pushed.status_code == 201, pushed.content
    front = {"client_id": APP_ID, "request_uri": pushed.json()["request_uri"]}
    assert browser.get("/o/apps/authorize", front).status_code == 200
    answer = browser.post("/o/apps/authorize", {**front, "allow": "true" if allow else "false"})
    return answer, verifier


def app_token(code: str, redirect_uri: str, verifier: str) -> Any:
    key = DpopKey()
    return Client().post(
        "/o/apps/token",
        {
            "grant_type": "authorization_code",
            "client_id": APP_ID,
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        HTTP_DPOP=key.proof("POST", "/o/apps/token"),
    )


# --- what a citizen app may register ------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        SCHEME_REDIRECT,
        "com.example.app:/oauth2redirect/example-provider",  # RFC 8252 §7.1's own example
        "fi.example.app:/cb?x=1",
        "http://127.0.0.1:51004/oauth2redirect/example-provider",
        "http://127.0.0.1/callback",
        "http://[::1]:61023/oauth2redirect/example-provider",
        HTTPS_REDIRECT,  # claimed https (§7.2) is exact https, as before
    ],
)
def test_the_forms_of_rfc_8252_and_https_may_be_registered(uri: str) -> None:
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("http://localhost:8765/callback", "localhost is not accepted"),
        ("http://app.localhost:8765/callback", "localhost is not accepted"),
        ("http://127.0.0.1.evil.example/", "http is only for loopback"),
        ("http://127.0.0.1@evil.example/cb", "http is only for loopback"),
        ("http://127.0.0.1:80@evil.example/cb", "http is only for loopback"),
        ("http://evil.example/cb", "http is only for loopback"),
        ("http://127.0.0.1:0/cb", "port 1-65535"),
        ("http://127.0.0.1:70000/cb", "port 1-65535"),
        ("HTTP://127.0.0.1/cb", "http is only for loopback"),
        ("myapp:/oauth2redirect", "not a reverse domain name"),
        ("fi..example:/cb", "not a reverse domain name"),
        ("fi.example.:/cb", "not a reverse domain name"),
        ("9fi.example:/cb", "not a reverse domain name"),
        ("javascript:alert(document.cookie)", "javascript: is not an app's own"),
        ("JavaScript:alert(1)", "is not an app's own"),
        ("data:text/html,<script>x</script>", "data: is not an app's own"),
        ("file:///etc/passwd", "file: is not an app's own"),
        ("vbscript:x", "vbscript: is not an app's own"),
        ("Fi.Example.App:/cb", "lower case"),
        ("fi.example.app://evil.example/cb", "single slash"),
        ("fi.example.app:cb", "single slash"),
        ("fi.example.app:/cb#x", "fragment"),
        ("https://diary.example/cb#x", "fragment"),
        ("https://user@diary.example/cb", "no user name"),
        ("https:/diary.example", "names a host"),
        ("fi.example.app:/c b", "spaces"),
        ("http://127.0.0.1\\@evil.example/", "backslashes"),
        ("//diary.example/cb", "no scheme"),
        ("", "empty"),
    ],
)
def test_a_citizen_app_cannot_register_what_is_not_its_own(uri: str, why: str) -> None:
    problem = redirect_uri_problem(uri)
    assert problem is not None and why in problem, problem


def test_registration_names_the_uri_and_what_is_wrong(db: Any) -> None:
    for uri, why in (
        ("http://localhost:8765/callback", "localhost is not accepted"),
        ("myapp:/cb", "at least one dot"),
        ("javascript:alert(1)", "not an app's own"),
    ):
        with pytest.raises(CommandError) as refused:
            call_command(
                "register_citizen_app", "bad", name="Bad", redirect_uri=[uri], stdout=StringIO()
            )
        assert repr(uri) in str(refused.value) and why in str(refused.value)
    assert not Application.objects.filter(client_id="bad").exists()


def test_registration_keeps_the_uris_as_given(native_app: Application) -> None:
    assert native_app.redirect_uris.split() == [
        SCHEME_REDIRECT,
        LOOPBACK_REDIRECT,
        IPV6_REDIRECT,
        HTTPS_REDIRECT,
    ]
    profile = ClientProfile.objects.get(application=native_app)
    assert profile.kind == ClientProfile.Kind.CITIZEN_APP and not profile.demo


def test_only_the_port_of_a_loopback_uri_is_relaxed() -> None:
    registered = [LOOPBACK_REDIRECT, IPV6_REDIRECT, SCHEME_REDIRECT]
    for uri in (
        "http://127.0.0.1:51004/callback",
        "http://127.0.0.1/callback",
        "http://[::1]:61023/cb",
        "http://[::1]/cb",
        SCHEME_REDIRECT,
    ):
        assert redirect_uri_registered(registered, uri), uri
    refused: tuple[str | None, ...] = (
        "http://127.0.0.1:51004/callback/x",  # another path
        "http://127.0.0.1:51004/Callback",
        "http://127.0.0.1:51004/callback?x=1",
        "http://127.0.0.1:51004/callback#x",
        "http://127.0.0.1:0/callback",
        "http://[::1]:51004/callback",  # another IP literal than registered
        "http://localhost:51004/callback",
        "http://127.0.0.1.evil.example:51004/callback",
        "http://127.0.0.1:51004@evil.example/callback",
        "https://127.0.0.1:51004/callback",
        SCHEME_REDIRECT + "/x",
        SCHEME_REDIRECT + "?x=1",
        "fi.example.omahyvinvointi://oauth2redirect",
        "FI.EXAMPLE.OMAHYVINVOINTI:/oauth2redirect",
        "fi.example.omahyvinvointi.evil:/oauth2redirect",
        "",
        None,
    )
    for other in refused:
        assert not redirect_uri_registered(registered, other), other


def test_a_registered_uri_of_a_refused_form_never_matches() -> None:
    """A URI that got into the table before these rules (a demo app's localhost) is no use."""
    assert not redirect_uri_matches(
        "http://localhost:8766/callback", "http://localhost:8766/callback"
    )
    assert not redirect_uri_matches("myapp:/cb", "myapp:/cb")


# --- the flow: PAR, authorize, token --------------------------------------------------------


@pytest.mark.usefixtures("native_app")
def test_the_code_goes_to_the_apps_own_scheme_and_is_exchanged(citizen_browser: Client) -> None:
    answer, verifier = app_answer(citizen_browser, SCHEME_REDIRECT)
    assert answer.status_code == 302
    location = answer["Location"]
    assert location.startswith(SCHEME_REDIRECT + "?"), location
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["s1"] and query["iss"] == [app_issuer()]
    token = app_token(query["code"][0], SCHEME_REDIRECT, verifier)
    assert token.status_code == 200, token.content
    assert token.json()["token_type"] == "DPoP"


@pytest.mark.usefixtures("native_app")
def test_the_citizens_decline_goes_to_the_apps_own_scheme_with_iss(
    citizen_browser: Client,
) -> None:
    answer, _ = app_answer(citizen_browser, SCHEME_REDIRECT, allow=False)
    location = answer["Location"]
    assert answer.status_code == 302 and location.startswith(SCHEME_REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"] and query["iss"] == [app_issuer()]
    assert "code" not in query


@pytest.mark.usefixtures("native_app")
@pytest.mark.parametrize(
    "uri",
    [
        SCHEME_REDIRECT + "/x",
        SCHEME_REDIRECT + "?x=1",
        "fi.example.omahyvinvointi://oauth2redirect",
        "FI.EXAMPLE.OMAHYVINVOINTI:/oauth2redirect",
        "fi.example.omahyvinvointi.evil:/oauth2redirect",
        "com.evil.app:/oauth2redirect",
        "javascript:alert(1)//fi.example.omahyvinvointi:/oauth2redirect",
        "http://localhost:51004/callback",
        "http://127.0.0.1.evil.example:51004/callback",
        "http://127.0.0.1:51004/callback/other",
        "http://[::1]:51004/callback",
        "https://diary.example/callback/other",
    ],
)
def test_a_uri_the_app_did_not_register_is_refused_at_par(uri: str) -> None:
    refused = app_push(uri)
    assert refused.status_code == 400, uri
    assert refused.json()["error"] == "invalid_request"


@pytest.mark.usefixtures("native_app")
def test_a_loopback_code_goes_to_the_port_the_app_listens_on(citizen_browser: Client) -> None:
    listening = "http://127.0.0.1:51004/callback"
    answer, verifier = app_answer(citizen_browser, listening)
    assert answer.status_code == 302 and answer["Location"].startswith(listening + "?")
    query = parse_qs(urlsplit(answer["Location"]).query)
    assert query["iss"] == [app_issuer()]
    # The token request names the redirect_uri of the authorization request, port and all.
    elsewhere = app_token(query["code"][0], LOOPBACK_REDIRECT, verifier)
    assert elsewhere.status_code == 400 and elsewhere.json()["error"] == "invalid_grant"


@pytest.mark.usefixtures("native_app")
def test_a_loopback_code_is_exchanged_with_the_same_port(citizen_browser: Client) -> None:
    listening = "http://[::1]:61023/cb"
    answer, verifier = app_answer(citizen_browser, listening)
    assert answer["Location"].startswith(listening + "?")
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    assert app_token(code, listening, verifier).status_code == 200


@pytest.mark.usefixtures("native_app")
def test_pkce_s256_is_still_required_for_a_native_app() -> None:
    plain = Client().post(
        "/o/apps/par",
        {
            "client_id": APP_ID,
            "response_type": "code",
            "redirect_uri": SCHEME_REDIRECT,
            "scope": "consents:read",
            "code_challenge": "x" * 43,
            "code_challenge_method": "plain",
        },
    )
    assert plain.status_code == 400 and "S256" in plain.json()["error_description"]


def test_an_existing_localhost_uri_no_longer_gets_codes(db: Any) -> None:
    """A demo app registered with localhost before these rules: its pushes are refused."""
    app = Application.objects.create(
        client_id=APP_ID,
        name="Old demo",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://localhost:8766/callback",
        algorithm="",
    )
    ClientProfile.objects.create(application=app, demo=True, kind=ClientProfile.Kind.CITIZEN_APP)
    assert app_push("http://localhost:8766/callback").status_code == 400


# --- a URI taken away ------------------------------------------------------------------------


def _staff_actor() -> StaffActor:
    return StaffActor(user_id=1, username="staff")


def test_a_pushed_request_to_a_uri_taken_away_is_not_answered(
    citizen_browser: Client, native_app: Application
) -> None:
    pushed = app_push("http://127.0.0.1:51004/callback")
    front = {"client_id": APP_ID, "request_uri": pushed.json()["request_uri"]}
    assert citizen_browser.get("/o/apps/authorize", front).status_code == 200
    client_redirect_uris_change(
        application=native_app,
        redirect_uris=[SCHEME_REDIRECT],
        actor=_staff_actor(),
        reason="the loopback listener is gone",
    )
    answer = citizen_browser.post(
        "/o/apps/authorize", {**front, "allow": "true"}, HTTP_ACCEPT_LANGUAGE="fi"
    )
    assert answer.status_code == 400 and "Location" not in answer
    assert "Tämä sovellus ei enää käytä tätä osoitetta." in answer.content.decode()
    assert not CitizenAppAuthorization.objects.exists()


def test_taking_a_loopback_uri_away_ends_the_authorizations_on_any_port(
    citizen_browser: Client, native_app: Application
) -> None:
    app_answer(citizen_browser, "http://127.0.0.1:51004/callback")
    app_answer(citizen_browser, SCHEME_REDIRECT)
    client_redirect_uris_change(
        application=native_app,
        redirect_uris=[SCHEME_REDIRECT, IPV6_REDIRECT],
        actor=_staff_actor(),
        reason="no more IPv4 listener",
    )
    ended = CitizenAppAuthorization.objects.filter(revoked_at__isnull=False)
    assert [a.redirect_uri for a in ended] == ["http://127.0.0.1:51004/callback"]
    assert CitizenAppAuthorization.objects.filter(revoked_at=None).count() == 1


def test_taking_away_a_uri_of_a_form_now_refused_ends_its_authorizations(
    native_app: Application, citizen: Person
) -> None:
    """A code that went to a URI registered before these rules (a localhost one) is ended
    when staff take that URI away, though the URI no longer matches anything."""
    old = "http://localhost:51004/callback"
    now = timezone.now()
    for uri in (old, "http://localhost:51005/callback", SCHEME_REDIRECT):
        app_authorization_create(
            application=native_app,
            user=citizen.user,
            scopes=("consents:read",),
            redirect_uri=uri,
            code_challenge="c" * 43,
            step_up_at=now,
            at=now,
        )
    assert (
        app_authorizations_revoke_for_client(
            application_id=native_app.pk, at=now, redirect_uris=[old]
        )
        == 1
    )
    ended = CitizenAppAuthorization.objects.filter(revoked_at__isnull=False)
    assert [a.redirect_uri for a in ended] == [old]


def test_staff_give_a_citizen_app_its_own_scheme_but_not_a_dotless_one(
    native_app: Application,
) -> None:
    changed = client_redirect_uris_change(
        application=native_app,
        redirect_uris=["fi.example.uusi:/cb", "http://[::1]/cb"],
        actor=_staff_actor(),
        reason="new app id",
    )
    assert changed.redirect_uris == "fi.example.uusi:/cb http://[::1]/cb"
    for uri in ("myapp:/cb", "http://localhost/cb", "data:text/html,x"):
        with pytest.raises(ConsentError, match=r"reverse domain|localhost|not an app's own"):
            client_redirect_uris_change(
                application=native_app, redirect_uris=[uri], actor=_staff_actor(), reason="x"
            )
    assert Application.objects.get(pk=native_app.pk).redirect_uris == changed.redirect_uris


# --- never for a provider's client -----------------------------------------------------------


@pytest.mark.parametrize(
    "uri", [SCHEME_REDIRECT, "http://127.0.0.1:8765/callback", "http://[::1]:8765/cb"]
)
def test_a_provider_cannot_register_a_native_app_redirect(db: Any, uri: str) -> None:
    with pytest.raises(CommandError):
        call_command(
            "register_provider",
            "--organisation-id=1.2.246.10.1111111.10.0",
            "--name=Uusi Klinikka",
            "--kind=care-provider",
            f"--redirect-uri={uri}",
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert not Application.objects.exclude(client_id=APP_ID).exists()


@pytest.mark.parametrize("uri", [SCHEME_REDIRECT, "http://127.0.0.1:8765/callback"])
def test_staff_cannot_give_a_provider_a_native_app_redirect(
    provider_client: ProviderClient, uri: str
) -> None:
    app = Application.objects.get(client_id=provider_client.client_id)
    before = app.redirect_uris
    with pytest.raises(ConsentError):
        client_redirect_uris_change(
            application=app, redirect_uris=[uri], actor=_staff_actor(), reason="x"
        )
    assert Application.objects.get(pk=app.pk).redirect_uris == before


@pytest.mark.parametrize(
    ("registered", "asked"),
    [
        (SCHEME_REDIRECT, SCHEME_REDIRECT),  # a custom scheme put in the table by hand
        ("http://127.0.0.1:8765/callback", "http://127.0.0.1:8766/callback"),  # relaxed port
        ("http://127.0.0.1/callback", "http://127.0.0.1:8766/callback"),
    ],
)
def test_a_provider_never_gets_a_native_app_redirect_at_par(
    provider_client: ProviderClient, consent_request: Consent, registered: str, asked: str
) -> None:
    app = Application.objects.get(client_id=provider_client.client_id)
    app.redirect_uris = registered
    app.save()
    ClientProfile.objects.update_or_create(application=app, defaults={"demo": True})
    _, challenge = pkce()
    params = authorize_params(
        provider_client.client_id, consent_request.id, challenge, redirect_uri=asked
    )
    answer = push(provider_client, params)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
