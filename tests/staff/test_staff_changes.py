"""Operator staff cannot silently redirect data: identity codes, provider organisation ids and
regulator assignments change only through logged services that end the tokens relying on the
old value; the admin shows them read-only and offers the change as an action with a reason."""

import json
from datetime import date, datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from consents.events import EventType
from consents.log import person_ref
from consents.models import LogEntry
from mydata_operator.identity.models import Person, Provider, Regulator
from mydata_operator.identity.selectors import subject_pseudonym
from mydata_operator.staff import services
from mydata_operator.staff.services import ConsentError, StaffActor
from schemas.hetu import make_hetu
from tests.fixtures.kanta import KantaStandIn
from tests.provider_api.conftest import ProviderClient, request_consent
from tests.staff.conftest import admin_action, conditions, entries, token_for

pytestmark = pytest.mark.usefixtures("frozen_now")

SPARE_CODE = make_hetu(date(1979, 11, 3), 950)  # a free temporary code


def test_moving_an_identity_code_in_the_admin_ends_the_token_and_is_logged(
    citizen: Person,
    other_citizen: Person,
    provider_client: ProviderClient,
    frozen_now: datetime,
    kanta: KantaStandIn,
    staff: Client,
) -> None:
    token = token_for(citizen, provider_client, request_consent(citizen, frozen_now))
    before = conditions(token)
    assert before.status_code == 200
    aino_conditions = {e["resource"]["id"] for e in before.json()["entry"]}
    aino_code, eero_code = citizen.personal_identity_code, other_citizen.personal_identity_code

    # Eero's code to a spare one, then Aino's to Eero's: the move the review made.
    for person, code in ((other_citizen, SPARE_CODE), (citizen, eero_code)):
        moved = admin_action(
            staff,
            "identity/person",
            person,
            "change_identity_code",
            personal_identity_code=code,
            reason="ticket 4711: codes were mixed up",
        )
        assert moved.status_code == 302, moved.content.decode()[:2000]
    citizen.refresh_from_db()
    assert citizen.personal_identity_code == eero_code

    after = conditions(token)
    assert after.status_code == 401
    assert "resourceType" not in after.content.decode()
    assert not any(c in after.content.decode() for c in aino_conditions)

    logged = entries(EventType.IDENTITY_CODE_CHANGED)
    assert [e["subject"] for e in logged] == [str(other_citizen.id), str(citizen.id)]
    assert logged[1]["identityCode"] == {
        "from": person_ref(subject_pseudonym(aino_code)),
        "to": person_ref(subject_pseudonym(eero_code)),
    }
    assert logged[1]["actorDetail"]["type"] == "operator"
    assert logged[1]["actorDetail"]["username"] == "admin"
    assert logged[1]["reason"] == "ticket 4711: codes were mixed up"
    assert logged[1]["tokensEnded"] >= 1 and logged[0]["tokensEnded"] == 0
    text = "".join(e.entry for e in LogEntry.objects.all())
    assert aino_code not in text and eero_code not in text  # codes never reach the log


def test_editing_the_identity_code_in_the_admin_form_changes_nothing(
    citizen: Person, staff: Client
) -> None:
    page = staff.get(f"/admin/identity/person/{citizen.pk}/change/")
    assert page.status_code == 200
    assert 'name="personal_identity_code"' not in page.content.decode()  # shown read-only
    assert citizen.personal_identity_code in page.content.decode()
    posted = staff.post(
        f"/admin/identity/person/{citizen.pk}/change/",
        {
            "personal_identity_code": SPARE_CODE,
            "given_name": "Aino",
            "family_name": "Virtanen",
            "birth_date": "1985-04-12",
            "language": "fi",
        },
    )
    assert posted.status_code == 302
    citizen.refresh_from_db()
    assert citizen.personal_identity_code != SPARE_CODE
    assert not LogEntry.objects.filter(event_type=EventType.IDENTITY_CODE_CHANGED).exists()


def test_the_admin_action_needs_a_reason_and_a_valid_free_code(
    citizen: Person, other_citizen: Person, staff: Client
) -> None:
    code = citizen.personal_identity_code
    no_reason = admin_action(
        staff,
        "identity/person",
        citizen,
        "change_identity_code",
        personal_identity_code=SPARE_CODE,
        reason="   ",
    )
    assert no_reason.status_code == 200 and "reason" in no_reason.context["form"].errors
    taken = admin_action(
        staff,
        "identity/person",
        citizen,
        "change_identity_code",
        personal_identity_code=other_citizen.personal_identity_code,
        reason="test",
    )
    assert "Another person has this identity code" in taken.content.decode()
    bad = admin_action(
        staff,
        "identity/person",
        citizen,
        "change_identity_code",
        personal_identity_code="120485-902X",
        reason="test",
    )
    assert "Not a valid identity code" in bad.content.decode()
    citizen.refresh_from_db()
    assert citizen.personal_identity_code == code
    assert not LogEntry.objects.filter(event_type=EventType.IDENTITY_CODE_CHANGED).exists()


def test_changing_a_providers_organisation_id_ends_its_tokens_and_is_logged(
    citizen: Person,
    provider_client: ProviderClient,
    frozen_now: datetime,
    kanta: KantaStandIn,
    staff: Client,
) -> None:
    token = token_for(citizen, provider_client, request_consent(citizen, frozen_now))
    assert conditions(token).status_code == 200
    page = staff.get(f"/admin/identity/provider/{provider_client.provider.pk}/change/")
    assert 'name="organisation_id"' not in page.content.decode()
    changed = admin_action(
        staff,
        "identity/provider",
        provider_client.provider,
        "change_organisation_id",
        organisation_id="1.2.246.10.9999999.10.0",
        reason="merger",
    )
    assert changed.status_code == 302
    assert conditions(token).status_code == 401
    [entry] = entries(EventType.PROVIDER_ORGANISATION_CHANGED)
    assert entry["provider"]["from"] == "1.2.246.10.1234567.10.0"
    assert entry["provider"]["to"] == "1.2.246.10.9999999.10.0"
    assert entry["reason"] == "merger" and entry["tokensEnded"] >= 1


def test_regulators_are_assigned_changed_and_removed_only_by_logged_actions(
    staff: Client,
) -> None:
    user = get_user_model().objects.create_user("tarkastaja", password="tarkastaja-pass-1")
    inspector = Client()
    inspector.force_login(user)
    assert inspector.get("/regulator/").status_code == 403
    assert staff.get("/admin/identity/regulator/add/").status_code == 403

    assigned = admin_action(
        staff,
        "auth/user",
        user,
        "assign_regulator",
        organisation="Valvira",
        reason="new inspector",
    )
    assert assigned.status_code == 302
    assert inspector.get("/regulator/").status_code == 200
    regulator = Regulator.objects.get(user=user)
    changed = admin_action(
        staff,
        "identity/regulator",
        regulator,
        "change_organisation",
        organisation="Tietosuojavaltuutettu",
        reason="moved",
    )
    assert changed.status_code == 302
    removed = admin_action(
        staff, "identity/regulator", regulator, "unassign", reason="left the post"
    )
    assert removed.status_code == 302
    assert inspector.get("/regulator/").status_code == 403  # at the next request

    logged = [
        json.loads(e.entry)
        for e in LogEntry.objects.filter(event_type__startswith="regulator.").order_by("id")
    ]
    assert [(e["type"], e["regulator"]["organisation"], e["reason"]) for e in logged] == [
        ("regulator.assigned", "Valvira", "new inspector"),
        ("regulator.changed", "Tietosuojavaltuutettu", "moved"),
        ("regulator.unassigned", "Tietosuojavaltuutettu", "left the post"),
    ]
    assert {e["actorDetail"]["username"] for e in logged} == {"admin"}


def test_a_regulators_row_cannot_be_edited_in_the_admin(staff: Client, regulator: Any) -> None:
    posted = staff.post(
        f"/admin/identity/regulator/{regulator.pk}/change/", {"organisation": "Someone else"}
    )
    assert posted.status_code == 403
    regulator.refresh_from_db()
    assert regulator.organisation == "Valvira"


def test_services_refuse_without_a_reason(citizen: Person, provider: Provider) -> None:
    actor = StaffActor(user_id=1, username="admin")
    with pytest.raises(ConsentError) as refused:
        services.identity_code_change(person=citizen, code=SPARE_CODE, actor=actor, reason="")
    assert refused.value.errors[0].pointer == "/reason"
    with pytest.raises(ConsentError):
        services.provider_organisation_change(
            provider=provider, organisation_id="1.2.3", actor=actor, reason=" "
        )
    assert not LogEntry.objects.exists()
