"""Who gets data and who may act: an OAuth client's redirect URIs and signing keys, a user's
staff rights, password and e-mail. Read-only in the admin (a POST that tries to change them
changes nothing); changed only by an action with a reason that calls a logged service."""

from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from joserfc.jwk import ECKey
from oauth2_provider.models import AccessToken, Application

from consents import log
from consents.events import EventType
from consents.models import LogEntry
from mydata_operator.identity.models import Person
from mydata_operator.provider_api.client_keys import client_keys_register
from mydata_operator.provider_api.models import ClientKey, ClientProfile
from tests.citizen_api.test_citizen_apps import APP_REDIRECT, app_tokens, call
from tests.citizen_api.test_citizen_apps import citizen_app as citizen_app  # a fixture
from tests.fixtures.kanta import KantaStandIn
from tests.provider_api.conftest import (
    REDIRECT,
    ProviderClient,
    authorize,
    authorize_params,
    exchange,
    pkce,
    push,
    request_consent,
)
from tests.staff.conftest import admin_action, browser_of, conditions, entries, token_for

pytestmark = pytest.mark.usefixtures("frozen_now")

APPLICATIONS = "oauth2_provider/application"
KEYS = "provider_api/clientkey"
USERS = "auth/user"
NEW_REDIRECT = "https://provider.example/new-callback"


def _app(pc: ProviderClient) -> Application:
    return Application.objects.get(client_id=pc.client_id)


# --- OAuth clients: redirect URIs ----------------------------------------------------------


def test_a_clients_redirect_uris_and_identity_cannot_be_edited_in_the_admin(
    provider_client: ProviderClient, staff: Client
) -> None:
    app = _app(provider_client)
    page = staff.get(f"/admin/{APPLICATIONS}/{app.pk}/change/")
    assert page.status_code == 200
    assert 'name="redirect_uris"' not in page.content.decode()
    assert 'name="client_id"' not in page.content.decode()
    posted = staff.post(
        f"/admin/{APPLICATIONS}/{app.pk}/change/",
        {
            "client_id": "someone-else",
            "redirect_uris": "https://attacker.example/cb",
            "client_type": Application.CLIENT_PUBLIC,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
            "name": app.name,
            "algorithm": "",
        },
    )
    assert posted.status_code == 403
    assert staff.get(f"/admin/{APPLICATIONS}/add/").status_code == 403
    app.refresh_from_db()
    assert (app.client_id, app.redirect_uris, app.client_type) == (
        provider_client.client_id,
        REDIRECT,
        Application.CLIENT_CONFIDENTIAL,
    )
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE


def test_taking_a_redirect_uri_away_ends_the_codes_and_tokens_it_could_have_received(
    citizen: Person,
    provider_client: ProviderClient,
    frozen_now: datetime,
    kanta: KantaStandIn,
    staff: Client,
) -> None:
    token = token_for(citizen, provider_client, request_consent(citizen, frozen_now))
    code = authorize(browser_of(citizen), provider_client, request_consent(citizen, frozen_now).id)
    assert conditions(token).status_code == 200

    changed = admin_action(
        staff,
        APPLICATIONS,
        _app(provider_client),
        "change_redirect_uris",
        redirect_uris=NEW_REDIRECT,
        reason="ticket 77: old callback host was taken over",
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    assert _app(provider_client).redirect_uris == NEW_REDIRECT

    stolen = exchange(Client(), provider_client, code)  # the code sent to the old URI
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert conditions(token).status_code == 401
    [entry] = entries(EventType.CLIENT_REDIRECT_URIS_CHANGED)
    assert entry["client"]["redirectUris"] == {"from": [REDIRECT], "to": [NEW_REDIRECT]}
    assert entry["actorDetail"]["username"] == "admin"
    assert entry["reason"] == "ticket 77: old callback host was taken over"
    assert entry["codesEnded"] == 1 and entry["tokensEnded"] >= 1


def test_adding_a_redirect_uri_ends_nothing(
    citizen: Person,
    provider_client: ProviderClient,
    frozen_now: datetime,
    kanta: KantaStandIn,
    staff: Client,
) -> None:
    token = token_for(citizen, provider_client, request_consent(citizen, frozen_now))
    admin_action(
        staff,
        APPLICATIONS,
        _app(provider_client),
        "change_redirect_uris",
        redirect_uris=f"{REDIRECT}\n{NEW_REDIRECT}",
        reason="second callback",
    )
    assert _app(provider_client).redirect_uris == f"{REDIRECT} {NEW_REDIRECT}"
    assert conditions(token).status_code == 200
    [entry] = entries(EventType.CLIENT_REDIRECT_URIS_CHANGED)
    assert entry["codesEnded"] == entry["tokensEnded"] == 0


def test_a_redirect_uri_change_needs_https_and_a_reason(
    provider_client: ProviderClient, staff: Client
) -> None:
    app = _app(provider_client)
    http = admin_action(
        staff,
        APPLICATIONS,
        app,
        "change_redirect_uris",
        redirect_uris="http://attacker.example/cb",
        reason="test",
    )
    assert http.status_code == 200 and "redirect_uris" in http.context["form"].errors
    no_reason = admin_action(
        staff, APPLICATIONS, app, "change_redirect_uris", redirect_uris=NEW_REDIRECT, reason=" "
    )
    assert no_reason.status_code == 200 and "reason" in no_reason.context["form"].errors
    assert _app(provider_client).redirect_uris == REDIRECT
    assert not entries(EventType.CLIENT_REDIRECT_URIS_CHANGED)


def test_taking_a_citizen_apps_redirect_uri_away_ends_its_authorizations(
    citizen: Person, citizen_app: Application, staff: Client
) -> None:
    tokens = app_tokens(browser_of(citizen), "consents:read")
    assert call("get", "/api/v1/me/consents", tokens).status_code == 200
    moved = "http://127.0.0.1:8171/callback"
    changed = admin_action(
        staff, APPLICATIONS, citizen_app, "change_redirect_uris", redirect_uris=moved, reason="port"
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    assert call("get", "/api/v1/me/consents", tokens).status_code == 401
    [entry] = entries(EventType.CLIENT_REDIRECT_URIS_CHANGED)
    assert entry["client"]["redirectUris"]["from"] == [APP_REDIRECT]
    assert entry["appAuthorizationsEnded"] == 1


# --- OAuth clients: signing keys -----------------------------------------------------------


def test_a_client_key_cannot_be_added_or_edited_in_the_admin(
    provider_client: ProviderClient, staff: Client
) -> None:
    key = ClientKey.objects.get(application=_app(provider_client))
    assert staff.get(f"/admin/{KEYS}/{key.pk}/change/").status_code == 200
    assert staff.get(f"/admin/{KEYS}/add/").status_code == 403
    attacker = ECKey.generate_key("P-256", private=True).as_dict(private=False)
    posted = staff.post(
        f"/admin/{KEYS}/{key.pk}/change/", {"kid": "k1", "jwk": str(attacker), "retired_at": ""}
    )
    assert posted.status_code == 403
    assert ClientKey.objects.get(pk=key.pk).jwk == key.jwk


def test_a_retired_key_no_longer_authenticates_and_the_retirement_is_logged(
    citizen: Person,
    provider_client: ProviderClient,
    frozen_now: datetime,
    kanta: KantaStandIn,
    staff: Client,
) -> None:
    token = token_for(citizen, provider_client, request_consent(citizen, frozen_now))
    code = authorize(browser_of(citizen), provider_client, request_consent(citizen, frozen_now).id)
    key = ClientKey.objects.get(application=_app(provider_client))

    retired = admin_action(staff, KEYS, key, "retire", reason="private key leaked")
    assert retired.status_code == 302, retired.content.decode()[:2000]

    _verifier, challenge = pkce()
    params = authorize_params(
        provider_client.client_id, request_consent(citizen, frozen_now).id, challenge
    )
    pushed = push(provider_client, params)
    assert pushed.status_code == 401 and pushed.json()["error"] == "invalid_client"
    exchanged = exchange(Client(), provider_client, code)
    assert exchanged.status_code == 401 and exchanged.json()["error"] == "invalid_client"
    assert AccessToken.objects.count() == 1
    # The token issued before is bound to the client's DPoP key, not to the retired one.
    assert conditions(token).status_code == 200
    [entry] = entries(EventType.CLIENT_KEY_RETIRED)
    assert entry["client"]["clientId"] == provider_client.client_id
    assert entry["client"]["kid"] == "k1"
    assert entry["actorDetail"]["username"] == "admin"
    assert entry["reason"] == "private key leaked"


def test_a_citizen_apps_last_key_is_not_retired(db: Any, staff: Client) -> None:
    app = Application.objects.create(
        client_id="an-app",
        name="An app",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://app.example/cb",
        algorithm="",
    )
    ClientProfile.objects.create(application=app, kind=ClientProfile.Kind.CITIZEN_APP)
    public = ECKey.generate_key("P-256", private=True).as_dict(private=False)
    [key] = client_keys_register(application=app, jwks={"keys": [dict(public, kid="a1")]})
    refused = admin_action(staff, KEYS, key, "retire", reason="rotation")
    assert refused.status_code == 200
    assert "last key" in refused.content.decode()
    assert ClientKey.objects.get(pk=key.pk).retired_at is None
    assert not entries(EventType.CLIENT_KEY_RETIRED)


# --- Users: staff rights, password, e-mail -------------------------------------------------


@pytest.fixture
def user(db: Any) -> Any:
    return get_user_model().objects.create_user(
        "tuki", password="tuki-pass-1", email="tuki@example.fi"
    )


def _change_form(user: Any) -> dict[str, str]:
    """Every field Django's user change form shows, as posted by a browser."""
    return {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "date_joined_0": "2026-11-30",
        "date_joined_1": "08:00:00",
        "initial-date_joined_0": "2026-11-30",
        "initial-date_joined_1": "08:00:00",
    }


def test_staff_rights_password_and_email_cannot_be_edited_in_the_user_admin(
    user: Any, staff: Client
) -> None:
    page = staff.get(f"/admin/{USERS}/{user.pk}/change/").content.decode()
    for field in ("is_staff", "is_superuser", "groups", "user_permissions", "email"):
        assert f'name="{field}"' not in page
    posted = staff.post(
        f"/admin/{USERS}/{user.pk}/change/",
        {
            **_change_form(user),
            "is_staff": "on",
            "is_superuser": "on",
            "email": "attacker@example.com",
            "user_permissions": [str(Permission.objects.first().pk)],  # type: ignore[union-attr]
        },
    )
    assert posted.status_code == 302, posted.content.decode()[:3000]
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser
    assert user.email == "tuki@example.fi" and not user.user_permissions.exists()

    assert staff.get(f"/admin/{USERS}/{user.pk}/password/").status_code == 403
    set_password = staff.post(
        f"/admin/{USERS}/{user.pk}/password/",
        {"password1": "Uusi-salasana-42", "password2": "Uusi-salasana-42"},
    )
    assert set_password.status_code == 403
    user.refresh_from_db()
    assert user.check_password("tuki-pass-1")
    assert not LogEntry.objects.filter(event_type__startswith="user.").exists()


def test_staff_rights_change_only_by_the_logged_action(user: Any, staff: Client) -> None:
    changed = admin_action(
        staff, USERS, user, "change_rights", is_staff="on", reason="new support engineer"
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    user.refresh_from_db()
    assert user.is_staff and not user.is_superuser
    [entry] = entries(EventType.USER_RIGHTS_CHANGED)
    assert entry["user"]["username"] == "tuki"
    assert entry["user"]["from"] == {"isStaff": False, "isSuperuser": False}
    assert entry["user"]["to"] == {"isStaff": True, "isSuperuser": False}
    assert entry["actorDetail"]["username"] == "admin"
    assert entry["reason"] == "new support engineer"


def test_nobody_changes_their_own_rights(staff_user: Any, staff: Client) -> None:
    refused = admin_action(staff, USERS, staff_user, "change_rights", is_staff="on", reason="x")
    assert refused.status_code == 200 and "Another staff member" in refused.content.decode()
    staff_user.refresh_from_db()
    assert staff_user.is_superuser
    assert not entries(EventType.USER_RIGHTS_CHANGED)


def test_a_staff_member_who_is_not_a_superuser_cannot_raise_rights(user: Any, db: Any) -> None:
    helper = get_user_model().objects.create_user("apu", password="apu-pass-1", is_staff=True)
    helper.user_permissions.set(
        Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    browser = Client()
    browser.force_login(helper)
    answer = admin_action(
        browser, USERS, user, "change_rights", is_staff="on", is_superuser="on", reason="x"
    )
    assert answer.status_code == 302  # "no action selected": the action is not offered
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser
    assert not entries(EventType.USER_RIGHTS_CHANGED)


def test_a_password_set_by_staff_is_logged_without_the_password(user: Any, staff: Client) -> None:
    new = "Uusi-salasana-42"
    done = admin_action(staff, USERS, user, "set_password", password=new, reason="locked out")
    assert done.status_code == 302, done.content.decode()[:2000]
    user.refresh_from_db()
    assert user.check_password(new)
    [entry] = entries(EventType.USER_PASSWORD_SET)
    assert entry["user"]["username"] == "tuki" and entry["reason"] == "locked out"
    assert entry["actorDetail"]["username"] == "admin"
    assert new not in "".join(e.entry for e in LogEntry.objects.all())
    weak = admin_action(staff, USERS, user, "set_password", password="123", reason="x")
    assert weak.status_code == 200 and "password" in weak.context["form"].errors


def test_an_email_change_is_logged_without_the_addresses(user: Any, staff: Client) -> None:
    done = admin_action(
        staff, USERS, user, "change_email", email="tuki2@example.fi", reason="new address"
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    user.refresh_from_db()
    assert user.email == "tuki2@example.fi"
    [entry] = entries(EventType.USER_EMAIL_CHANGED)
    assert entry["user"]["username"] == "tuki" and entry["reason"] == "new address"
    text = "".join(e.entry for e in LogEntry.objects.all())
    assert "tuki2@example.fi" not in text and "tuki@example.fi" not in text


# --- DOT's tokens and codes ----------------------------------------------------------------


def test_an_access_token_cannot_be_edited_in_the_admin(
    citizen: Person, provider_client: ProviderClient, frozen_now: datetime, staff: Client
) -> None:
    token_for(citizen, provider_client, request_consent(citizen, frozen_now))
    row = AccessToken.objects.get()
    posted = staff.post(
        f"/admin/oauth2_provider/accesstoken/{row.pk}/change/",
        {"expires_0": "2036-01-01", "expires_1": "00:00:00", "scope": "consent"},
    )
    assert posted.status_code == 403
    assert AccessToken.objects.get().expires == row.expires


def test_a_regulator_reads_the_staff_changes_in_the_log(
    user: Any, staff: Client, regulator: Any
) -> None:
    admin_action(staff, USERS, user, "change_rights", is_staff="on", reason="support")
    admin_action(staff, USERS, user, "set_password", password="Uusi-salasana-42", reason="reset")
    log.log_integrate()
    inspector = Client()
    inspector.force_login(regulator.user)
    for entry in LogEntry.objects.filter(event_type__startswith="user."):
        assert entry.seq is not None
        page = inspector.get(f"/regulator/entries/{entry.seq}/")
        assert page.status_code == 200
        assert entry.event_type in page.content.decode()
