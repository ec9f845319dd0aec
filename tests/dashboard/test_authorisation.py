"""No person sees or changes another's consents except through a valid guardianship or
mandate; forged posts and other people's ids change nothing."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from consents import services
from consents.models import Consent, Mandate, Receipt
from consents.policy import DecisionRequest, Flow, Recipient, decide_and_log
from mydata_operator.identity.models import Person
from tests.conftest import PROVIDER_OID, Family, grant, provider_sharing_scope

from .conftest import signed_in

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_sign_in(citizen: Person) -> None:
    consent = grant(citizen, "provider-sharing")
    response = Client().get(f"/consents/{consent.id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_overview_never_shows_another_persons_consents(
    citizen: Person, other_citizen: Person
) -> None:
    grant(other_citizen, "provider-sharing", scope=provider_sharing_scope(purpose="research"))
    text = signed_in(citizen).get("/consents/").content.decode()
    assert "Tutkimus" not in text  # the other person's purpose, in Finnish


@pytest.mark.parametrize(
    "path",
    ["/consents/{id}/", "/consents/{id}/change/", "/consents/{id}/withdraw/", "/requests/{id}/"],
)
def test_another_persons_consent_id_in_a_url_is_not_found(
    citizen: Person, other_citizen: Person, path: str
) -> None:
    theirs = grant(other_citizen, "provider-sharing")
    client = signed_in(citizen)
    assert client.get(path.format(id=theirs.id)).status_code == 404
    assert client.post(path.format(id=theirs.id)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "active"


def test_another_persons_receipt_is_not_found(citizen: Person, other_citizen: Person) -> None:
    receipt = Receipt.objects.get(consent=grant(other_citizen, "provider-sharing"))
    assert signed_in(citizen).get(f"/receipts/{receipt.id}.jws").status_code == 404


def test_another_persons_disclosures_are_not_found(citizen: Person, other_citizen: Person) -> None:
    response = signed_in(citizen).get("/disclosures/", {"for": str(other_citizen.id)})
    assert response.status_code == 404


def test_a_withdrawal_without_csrf_token_is_refused(citizen: Person) -> None:
    consent = grant(citizen, "provider-sharing")
    client = signed_in(citizen, csrf=True)
    assert client.post(f"/consents/{consent.id}/withdraw/").status_code == 403
    consent.refresh_from_db()
    assert consent.status == "active"


def test_a_withdrawal_with_the_csrf_token_goes_through(citizen: Person) -> None:
    consent = grant(citizen, "provider-sharing")
    client = signed_in(citizen, csrf=True)
    token = client.cookies["csrftoken"].value
    response = client.post(f"/consents/{consent.id}/withdraw/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.status == "withdrawn"


def test_guardian_sees_and_withdraws_the_childs_consent(family: Family) -> None:
    consent = grant(family.child, "biobank", actor=family.guardian)
    client = signed_in(family.guardian)
    overview = client.get("/consents/").content.decode()
    assert "Onni Mäkinen" in overview
    assert client.post(f"/consents/{consent.id}/withdraw/").status_code == 302
    consent.refresh_from_db()
    assert consent.status == "withdrawn"


def test_guardian_grants_for_the_child_and_the_log_names_both(family: Family) -> None:
    from mydata_operator.identity.models import Provider
    from tests.conftest import PROVIDER_OID

    from .test_pages import FORM_DATA, confirm

    Provider.objects.create(organisation_id=PROVIDER_OID, name="Terveys Oy", kind="care-provider")
    client = signed_in(family.guardian)
    url = f"/consents/new/provider-sharing/?for={family.child.id}"
    response, page = confirm(
        client, url, {**FORM_DATA["provider-sharing"], "for": str(family.child.id)}
    )
    assert response.status_code == 302
    consent = Consent.objects.get(subject_id=family.child.id, kind="provider-sharing")
    assert consent.granted_by == family.guardian.id
    assert "Mäkinen" in page.context["notice"]


def test_a_grant_for_a_child_by_a_non_guardian_is_refused(
    family: Family, other_citizen: Person
) -> None:
    client = signed_in(other_citizen)
    url = f"/consents/new/provider-sharing/?for={family.child.id}"
    assert client.get(url).status_code == 404
    assert client.post(url, {"for": str(family.child.id), "step": "confirm"}).status_code == 404
    assert not Consent.objects.filter(subject_id=family.child.id).exists()


def test_an_expired_mandate_gives_no_access_and_tells_the_former_agent(
    citizen: Person, other_citizen: Person, frozen_now: datetime
) -> None:
    services.mandate_create(
        principal_id=other_citizen.id,
        agent_id=citizen.id,
        basis=Mandate.Basis.MANDATE,
        valid_from=frozen_now - timedelta(days=30),
        valid_until=frozen_now - timedelta(days=1),
        actor=services.Actor.person(other_citizen.id),
        now=frozen_now - timedelta(days=30),
    )
    theirs = grant(other_citizen, "provider-sharing")
    client = signed_in(citizen)
    assert client.post(f"/consents/{theirs.id}/withdraw/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "active"
    overview = client.get("/consents/").content.decode()
    assert "Eero Korhonen" in overview and "päättyi" in overview


def test_a_mandate_limited_to_one_kind_refuses_another_kind_with_a_clear_message(
    citizen: Person, other_citizen: Person, frozen_now: datetime
) -> None:
    services.mandate_create(
        principal_id=other_citizen.id,
        agent_id=citizen.id,
        basis=Mandate.Basis.MANDATE,
        kinds=["needs-assessment"],
        actor=services.Actor.person(other_citizen.id),
    )
    theirs = grant(other_citizen, "provider-sharing")
    client = signed_in(citizen)
    response = client.post(f"/consents/{theirs.id}/withdraw/", follow=True)
    assert "valtuutusta" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.status == "active"


def test_an_agent_whose_mandate_covers_one_kind_sees_and_changes_only_that_kind(
    citizen: Person, other_citizen: Person, frozen_now: datetime
) -> None:
    services.mandate_create(
        principal_id=other_citizen.id,
        agent_id=citizen.id,
        basis=Mandate.Basis.MANDATE,
        kinds=["needs-assessment"],
        actor=services.Actor.person(other_citizen.id),
    )
    covered = grant(other_citizen, "needs-assessment")
    not_covered = grant(other_citizen, "provider-sharing")
    client = signed_in(citizen)

    overview = client.get(f"/consents/?for={other_citizen.id}")  # act for the principal
    theirs = [s for s in overview.context["sections"] if s["subject"].person == other_citizen]
    assert [[c["consent"].id for c in g["current"]] for g in theirs[0]["groups"]] == [[covered.id]]
    assert client.get(f"/consents/{covered.id}/").status_code == 200
    hidden = client.get(f"/consents/{not_covered.id}/")
    assert hidden.status_code == 403
    assert hidden.templates[0].name == "dashboard/not_covered.html"
    assert "dashboard/consent_detail.html" not in [t.name for t in hidden.templates]
    assert "valtuutusta" in hidden.content.decode()
    new = client.get(f"/consents/new/provider-sharing/?for={other_citizen.id}")
    assert new.status_code == 404

    decide_and_log(
        DecisionRequest(
            subject_id=other_citizen.id,
            flow=Flow.PROVIDER_ACCESS,
            recipient=Recipient(organisation=PROVIDER_OID),
            at=frozen_now,
            data_categories=frozenset({"conditions"}),
        )
    )
    disclosed = {"for": str(other_citizen.id)}
    assert signed_in(other_citizen).get("/disclosures/", disclosed).context["rows"]
    assert client.get("/disclosures/", disclosed).context["rows"] == []

    assert client.post(f"/consents/{not_covered.id}/withdraw/").status_code == 403
    assert client.post(f"/consents/{covered.id}/withdraw/").status_code == 302
    covered.refresh_from_db()
    not_covered.refresh_from_db()
    assert (covered.status, not_covered.status) == ("withdrawn", "active")


def test_a_child_come_of_age_is_told_their_guardian_gave_consents(
    family: Family, frozen_now: datetime
) -> None:
    grant(family.child, "biobank", actor=family.guardian)
    services.mandate_end(
        mandate=family.mandate, actor=services.Actor.system(), reason="the child turned 18"
    )
    user = get_user_model().objects.create_user("onni", password="onni-pass-1")
    Person.objects.filter(pk=family.child.pk).update(user=user)
    family.child.refresh_from_db()
    guardian_view = signed_in(family.guardian).get("/consents/").content.decode()
    assert "Oikeutesi asioida henkilön Onni Mäkinen puolesta päättyi" in guardian_view
    child_view = signed_in(family.child).get("/consents/").content.decode()
    assert "Huoltajasi antoi puolestasi suostumuksia" in child_view


def test_a_signed_in_non_citizen_gets_no_consents(db: Any) -> None:
    get_user_model().objects.create_user("operator", password="operator-pass-1")
    client = Client()
    client.login(username="operator", password="operator-pass-1")
    assert client.get("/consents/").status_code == 403
