"""The citizen's pages say what they mean: ended consents, acting for someone, disclosures by
consent, readable receipts, forms that explain themselves, the privacy notice and the
accessibility statement (the review of 2026-11-30, issue 11)."""

from typing import Any

from django.db import transaction
from django.test import Client
from django.utils import timezone, translation

from connectors.base import Connector, Delivery
from consents import policy, services
from consents.models import Receipt
from consents.policy import DecisionRequest, Flow, Recipient
from mydata_operator.identity.models import Person
from tests.conftest import PROVIDER_OID, Family, grant

from .conftest import signed_in

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def english(person: Person) -> Client:
    client = signed_in(person)
    client.cookies["django_language"] = "en"
    return client


def _read(citizen: Person, category: str) -> policy.Decision:
    with transaction.atomic():
        return policy.decide_and_log(
            DecisionRequest(
                subject_id=citizen.id,
                flow=Flow.PROVIDER_ACCESS,
                recipient=Recipient(organisation=PROVIDER_OID),
                at=timezone.now(),
                purpose="care",
                data_categories=frozenset({category}),
            )
        )


def test_a_withdrawn_consent_says_when_it_was_withdrawn_not_until_you_withdraw_it(
    citizen: Person, providers: None
) -> None:
    consent = grant(citizen, "provider-sharing")
    services.consent_withdraw(consent=consent, actor=services.Actor.person(citizen.id))
    text = english(citizen).get(f"/consents/{consent.id}/").content.decode()
    assert "Withdrawn on" in text
    assert "until you withdraw it" not in text


def test_an_expired_consent_reads_validity_ended_in_finnish(
    citizen: Person, providers: None
) -> None:
    consent = grant(citizen, "provider-sharing")
    consent.status = "expired"
    consent.save(update_fields=["status"])
    text = signed_in(citizen).get(f"/consents/{consent.id}/").content.decode()
    assert "Voimassaolo päättynyt" in text
    assert "kunnes perut sen" not in text


def test_a_permitted_read_and_its_delivery_are_one_row_linked_to_the_consent(
    citizen: Person, providers: None
) -> None:
    consent = grant(citizen, "provider-sharing")
    decision = _read(citizen, "conditions")
    Connector().record_delivered(
        subject_id=citizen.id, decision=decision, delivery=Delivery(PROVIDER_OID, {})
    )
    _read(citizen, "immunizations")  # not covered: a refusal
    rows = english(citizen).get("/disclosures/").context["rows"]
    assert [r.outcome for r in rows] == ["deny", "delivered"]
    assert rows[1].consent_id == consent.id
    assert "Terveys Oy" in rows[1].consent_label


def test_a_refusal_is_worded_as_a_request_that_was_not_disclosed(
    citizen: Person, providers: None
) -> None:
    grant(citizen, "provider-sharing")
    _read(citizen, "immunizations")
    text = english(citizen).get("/disclosures/").content.decode()
    assert "Requested – not disclosed" in text  # noqa: RUF001 - the page's en dash
    assert "fetched" not in text


def test_a_guardian_acts_for_the_child_in_a_mode_named_on_every_page(
    family: Family, providers: None
) -> None:
    own = grant(family.guardian, "provider-sharing")
    childs = grant(family.child, "needs-assessment", actor=family.guardian)
    client = english(family.guardian)
    overview = client.get("/consents/")
    assert [s["subject"].person for s in overview.context["sections"]] == [family.guardian]
    assert "Acting for" not in overview.content.decode()
    client.post("/acting-for/", {"person": str(family.child.id)})
    overview = client.get("/consents/")
    ids = [c["consent"].id for g in overview.context["sections"][0]["groups"] for c in g["current"]]
    assert ids == [childs.id] and own.id not in ids
    for path in ("/consents/", f"/consents/{childs.id}/", "/disclosures/", "/receipts/verify/"):
        text = client.get(path).content.decode()
        assert "Acting for" in text and "Onni Mäkinen" in text, path
    detail = client.get(f"/consents/{childs.id}/").content.decode()
    assert "Consents: Onni Mäkinen" in detail  # the breadcrumb names whose consents
    client.post("/acting-for/", {"person": ""})
    assert "Acting for" not in client.get("/consents/").content.decode()


def test_acting_for_someone_one_may_not_act_for_is_not_found(
    citizen: Person, other_citizen: Person
) -> None:
    client = signed_in(citizen)
    assert client.post("/acting-for/", {"person": str(other_citizen.id)}).status_code == 404


def test_a_receipt_reads_as_a_page_and_a_pdf_in_the_persons_language(
    citizen: Person, providers: None
) -> None:
    consent = grant(citizen, "provider-sharing")
    receipt = Receipt.objects.get(consent=consent)
    client = signed_in(citizen)
    page = client.get(f"/receipts/{receipt.id}/").content.decode()
    assert "Tekijä" in page and "sinä" in page and "Terveys Oy" in page
    pdf = client.get(f"/receipts/{receipt.id}.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert len(pdf.content) > 1000


def test_another_persons_receipt_is_not_found(
    citizen: Person, other_citizen: Person, providers: None
) -> None:
    receipt = Receipt.objects.get(consent=grant(other_citizen, "provider-sharing"))
    client = signed_in(citizen)
    assert client.get(f"/receipts/{receipt.id}/").status_code == 404
    assert client.get(f"/receipts/{receipt.id}.pdf").status_code == 404


def test_a_withdrawal_by_the_guardian_names_the_guardian_when_the_child_checks_it(
    family: Family, providers: None
) -> None:
    consent = grant(family.child, "needs-assessment", actor=family.guardian)
    services.consent_withdraw(consent=consent, actor=services.Actor.person(family.guardian.id))
    receipt = Receipt.objects.filter(consent__lineage=consent.lineage).order_by("issued_at").last()
    assert receipt is not None
    guardian = signed_in(family.guardian)  # the guardian checks it: "you"
    rows = dict(
        guardian.post("/receipts/verify/", {"receipt_text": receipt.jws}).context["readable"].rows
    )
    assert rows["Tekijä"] == "sinä"
    from mydata_operator.dashboard.receipts import readable

    with translation.override("en"):
        other_view = dict(readable(_payload(receipt), viewer=family.child).rows)
    assert other_view["Made by"].startswith("Liisa Mäkinen")


def _payload(receipt: Receipt) -> dict[str, Any]:
    from consents.keys import public_jwks
    from consents.receipts import receipt_verify

    return receipt_verify(receipt.jws, public_jwks())


def test_a_bad_receipt_file_gets_a_translated_clear_error(citizen: Person) -> None:
    client = signed_in(citizen)
    text = client.post("/receipts/verify/", {"receipt_text": "eyJ0eXAiOm51bGx9.e30.AA"})
    body = text.content.decode()
    assert "typ is None" not in body and "not a Tahto receipt" not in body
    assert "Tahto" in body and "kuitti" in body


def test_the_receipts_policy_url_answers_with_the_privacy_notice(
    citizen: Person, providers: None, client: Client
) -> None:
    receipt = Receipt.objects.get(consent=grant(citizen, "provider-sharing"))
    path = "/" + _payload(receipt)["policyUrl"].split("/", 3)[3]
    for language, heading in (
        ("fi", "Tietosuojaseloste"),
        ("sv", "Dataskyddsbeskrivning"),
        ("en", "Privacy notice"),
    ):
        client.cookies["django_language"] = language
        response = client.get(path)
        assert response.status_code == 200
        assert f"<h1>{heading}</h1>" in response.content.decode()


def test_the_accessibility_statement_is_linked_from_every_page(client: Client) -> None:
    landing = client.get("/").content.decode()
    assert 'href="/accessibility/"' in landing and 'href="/policy"' in landing
    client.cookies["django_language"] = "sv"
    text = client.get("/accessibility/").content.decode()
    assert "<h1>Tillgänglighetsutlåtande</h1>" in text


def test_the_grant_form_preselects_no_provider_and_explains_its_fields(
    citizen: Person, providers: None
) -> None:
    text = english(citizen).get("/consents/new/provider-sharing/").content.decode()
    assert '<option value="" selected>Choose a provider</option>' in text
    assert "Purpose of use" in text


def test_after_a_form_error_the_title_says_error_and_the_summary_takes_focus(
    citizen: Person, providers: None
) -> None:
    response = english(citizen).post("/consents/new/provider-sharing/", {"step": "preview"})
    text = response.content.decode()
    assert "<title>Error: " in text
    assert 'class="error-summary" role="alert"' in text and "autofocus" in text
    assert "Choose at least one kind of data." in text


def test_the_biobank_form_offers_diseases_by_name_not_icd10_codes(
    citizen: Person, providers: None
) -> None:
    text = english(citizen).get("/consents/new/biobank/").content.decode()
    assert "ICD-10" not in text
    assert '<option value="C50">Breast cancer</option>' in text


def test_withdraw_confirmation_says_dont_withdraw_instead_of_cancel(
    citizen: Person, providers: None
) -> None:
    consent = grant(citizen, "provider-sharing")
    text = signed_in(citizen).get(f"/consents/{consent.id}/withdraw/").content.decode()
    assert "Kyllä, peru suostumus" in text
    assert ">Peruuta<" not in text
