"""Whether an account is on at all: read-only in the user admin, turned off or on only by
the logged action. Off signs the user out everywhere and ends what the account holds; on
again is logged too and brings none of it back."""

from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from oauth2_provider.models import Application

from consents.errors import ConsentError
from consents.events import EventType
from consents.models import LogEntry
from mydata_operator.identity.models import Person
from mydata_operator.security.models import UserSession
from mydata_operator.staff import services
from tests.citizen_api.test_citizen_apps import app_tokens, call
from tests.citizen_api.test_citizen_apps import citizen_app as citizen_app  # a fixture
from tests.fixtures.kanta import KantaStandIn
from tests.provider_api.conftest import ProviderClient, authorize, exchange, request_consent
from tests.staff.conftest import admin_action, browser_of, conditions, entries, token_for
from tests.staff.test_staff_clients_and_users import USERS, _change_form
from tests.staff.test_staff_clients_and_users import user as user  # a fixture

pytestmark = pytest.mark.usefixtures("frozen_now")


def sessions_of(user: Any) -> list[UserSession]:
    return [
        s for s in UserSession.objects.all() if s.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]


def signed_in(browser: Client) -> bool:
    """Does the dashboard answer this browser as a signed-in person (not send it to sign in)?"""
    return bool(browser.get("/consents/").status_code == 200)


def test_an_account_cannot_be_turned_off_in_the_user_admin(user: Any, staff: Client) -> None:
    page = staff.get(f"/admin/{USERS}/{user.pk}/change/").content.decode()
    assert 'name="is_active"' not in page
    form = _change_form(user)
    del form["is_active"]  # an unticked box: what a browser posts to turn the account off
    posted = staff.post(f"/admin/{USERS}/{user.pk}/change/", form)
    assert posted.status_code == 302, posted.content.decode()[:3000]
    user.refresh_from_db()
    assert user.is_active
    assert not LogEntry.objects.filter(event_type__startswith="user.").exists()


def test_turning_an_account_off_signs_the_user_out_and_ends_what_it_holds(
    citizen: Person,
    citizen_app: Application,
    provider_client: ProviderClient,
    frozen_now: datetime,
    kanta: KantaStandIn,
    staff: Client,
) -> None:
    browser = browser_of(citizen)
    assert signed_in(browser)
    tokens = app_tokens(browser, "consents:read")
    assert call("get", "/api/v1/me/consents", tokens).status_code == 200
    provider_token = token_for(citizen, provider_client, request_consent(citizen, frozen_now))
    code = authorize(browser, provider_client, request_consent(citizen, frozen_now).id)
    sessions = len(sessions_of(citizen.user))

    done = admin_action(
        staff, USERS, citizen.user, "set_active", active="off", reason="ticket 91: account taken"
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    assert citizen.user is not None
    citizen.user.refresh_from_db()
    assert not citizen.user.is_active

    assert not signed_in(browser) and not sessions_of(citizen.user)
    assert call("get", "/api/v1/me/consents", tokens).status_code == 401
    stolen = exchange(Client(), provider_client, code)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    # A provider's token is not the account's: it stands as long as its consent does.
    assert conditions(provider_token).status_code == 200
    [entry] = entries(EventType.USER_DEACTIVATED)
    assert entry["user"] == {"id": citizen.user.pk, "username": citizen.user.username}
    assert entry["actorDetail"]["username"] == "admin"
    assert entry["reason"] == "ticket 91: account taken"
    assert entry["sessionsEnded"] == sessions and sessions >= 1
    assert entry["appAuthorizationsEnded"] == 1 and entry["codesEnded"] == 1
    assert staff.get("/admin/").status_code == 200  # only that user's sessions ended


def test_turning_an_account_on_again_is_logged_and_brings_nothing_back(
    citizen: Person, citizen_app: Application, staff: Client
) -> None:
    browser = browser_of(citizen)
    tokens = app_tokens(browser, "consents:read")
    admin_action(staff, USERS, citizen.user, "set_active", active="off", reason="lost phone")

    done = admin_action(staff, USERS, citizen.user, "set_active", active="on", reason="found it")
    assert done.status_code == 302, done.content.decode()[:2000]
    assert citizen.user is not None
    citizen.user.refresh_from_db()
    assert citizen.user.is_active
    assert not signed_in(browser)
    assert call("get", "/api/v1/me/consents", tokens).status_code == 401
    refreshed = Client().post(
        "/o/apps/token",
        {
            "grant_type": "refresh_token",
            "client_id": citizen_app.client_id,
            "refresh_token": tokens.refresh,
        },
        HTTP_DPOP=tokens.key.proof("POST", "/o/apps/token"),
    )
    assert refreshed.status_code == 400
    [entry] = entries(EventType.USER_REACTIVATED)
    assert entry["user"]["username"] == citizen.user.username
    assert entry["actorDetail"]["username"] == "admin" and entry["reason"] == "found it"
    assert entry["sessionsEnded"] == entry["appAuthorizationsEnded"] == 0
    assert signed_in(browser_of(citizen))  # signing in anew works


def test_turning_an_account_off_needs_a_reason(user: Any, staff: Client) -> None:
    refused = admin_action(staff, USERS, user, "set_active", active="off", reason=" ")
    assert refused.status_code == 200 and "reason" in refused.context["form"].errors
    with pytest.raises(ConsentError) as caught:
        services.user_active_set(
            user=user, active=False, actor=services.StaffActor(1, "admin"), reason=" \n "
        )
    assert caught.value.errors[0].pointer == "/reason"
    user.refresh_from_db()
    assert user.is_active
    assert not entries(EventType.USER_DEACTIVATED)


def test_nobody_turns_their_own_account_off(staff_user: Any, staff: Client) -> None:
    refused = admin_action(staff, USERS, staff_user, "set_active", active="off", reason="bye")
    assert refused.status_code == 200 and "Another staff member" in refused.content.decode()
    staff_user.refresh_from_db()
    assert staff_user.is_active
    assert staff.get("/admin/").status_code == 200  # still signed in
    assert not entries(EventType.USER_DEACTIVATED)


def test_an_account_already_off_is_not_turned_off_again(user: Any, staff: Client) -> None:
    admin_action(staff, USERS, user, "set_active", active="off", reason="left the company")
    again = admin_action(staff, USERS, user, "set_active", active="off", reason="again")
    assert again.status_code == 200 and "already is off" in again.content.decode()
    assert len(entries(EventType.USER_DEACTIVATED)) == 1


def test_a_staff_member_who_is_not_a_superuser_cannot_turn_an_account_off(
    user: Any, db: Any
) -> None:
    helper = get_user_model().objects.create_user("apu", password="apu-pass-1", is_staff=True)
    helper.user_permissions.set(
        Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    browser = Client()
    browser.force_login(helper)
    answer = admin_action(browser, USERS, user, "set_active", active="off", reason="x")
    assert answer.status_code == 302  # "no action selected": the action is not offered
    user.refresh_from_db()
    assert user.is_active
    assert not entries(EventType.USER_DEACTIVATED)
