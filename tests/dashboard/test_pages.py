"""The dashboard's pages and journeys through the Django test client (fast)."""

import base64
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from consents import policy
from consents.models import Consent, LogEntry, Notice, Receipt
from consents.policy import DecisionRequest, Flow, Recipient
from mydata_operator.dashboard.kinds.biobank import BiobankForm
from mydata_operator.dashboard.stepup import SESSION_KEY
from mydata_operator.identity.models import Person
from tests.conftest import BIOBANK_OID, COUNTY_OID, PROVIDER_OID, grant

from .conftest import signed_in

pytestmark = pytest.mark.django_db


FORM_DATA: dict[str, dict[str, Any]] = {
    "provider-sharing": {
        "recipient": PROVIDER_OID,
        "data_categories": ["conditions", "medications"],
        "purpose": "care",
    },
    "wellbeing-sharing": {
        "data_categories": ["blood-pressure", "steps"],
        "sources": ["tahto-demo-wellbeing-app"],
        "kanta_phr": "on",
    },
    "needs-assessment": {
        "senders": [COUNTY_OID],
        "channels": ["dashboard"],
        "life_areas": ["health", "mobility"],
    },
    "biobank": {
        "biobank": BIOBANK_OID,
        "collect_samples": "on",
        "sample_types": ["blood"],
        "data_categories": ["samples", "conditions"],
        "permission": "HMB",
        "modifiers": ["NPU"],
    },
}


def confirm(client: Any, url: str, data: dict[str, Any]) -> Any:
    """Post the form, read the notice hash from the preview page, and confirm."""
    page = client.post(url, {**data, "step": "preview"})
    assert page.status_code == 200
    confirmation = {
        "step": "confirm",
        "notice_sha": page.context["notice_sha"],
        "confirm_token": page.context["confirm_token"],
    }
    return client.post(url, {**data, **confirmation}), page


def test_visitor_sees_the_landing_page_with_a_sign_in_link(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/accounts/login/' in response.content
    assert b'lang="fi"' in response.content


def test_overview_shows_own_consents_grouped_by_kind_in_plain_language(
    citizen: Person, providers: None
) -> None:
    grant(citizen, "provider-sharing")
    response = signed_in(citizen).get("/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Diagnoosit" in text  # "conditions" in words, in Finnish (the default language)
    assert "Terveys Oy" in text
    assert text.count('class="kind"') == 4


@pytest.mark.parametrize("kind", list(FORM_DATA))
def test_granting_each_kind_records_the_exact_notice_shown(
    citizen: Person, providers: None, kind: str
) -> None:
    client = signed_in(citizen)
    response, page = confirm(client, f"/consents/new/{kind}/", FORM_DATA[kind])
    assert response.status_code == 302
    consent = Consent.objects.get(subject_id=citizen.id, kind=kind)
    assert consent.notice is not None
    assert consent.notice.text == page.context["notice"]
    assert Receipt.objects.filter(consent=consent).count() == 1


def test_grant_preview_is_answered_by_the_decision_point(citizen: Person, providers: None) -> None:
    page = signed_in(citizen).post(
        "/consents/new/provider-sharing/", {**FORM_DATA["provider-sharing"], "step": "preview"}
    )
    rows = {r.question: r for r in page.context["preview"]}
    permitted = [q for q, r in rows.items() if r.after]
    assert len(permitted) == 2  # conditions and medications, nothing else
    assert not any(r.now for r in rows.values())
    assert Consent.objects.count() == 0  # a preview changes nothing


def test_a_changed_notice_hash_is_not_recorded(citizen: Person, providers: None) -> None:
    client = signed_in(citizen)
    url = "/consents/new/provider-sharing/"
    page = client.post(url, {**FORM_DATA["provider-sharing"], "step": "preview"})
    response = client.post(
        url,
        {
            **FORM_DATA["provider-sharing"],
            "step": "confirm",
            "notice_sha": "0" * 64,
            "confirm_token": page.context["confirm_token"],
        },
    )
    assert response.status_code == 200
    assert Consent.objects.count() == 0


def test_invalid_form_shows_an_error_summary_linked_to_the_field(
    citizen: Person, providers: None
) -> None:
    response = signed_in(citizen).post(
        "/consents/new/provider-sharing/", {"recipient": PROVIDER_OID, "step": "preview"}
    )
    text = response.content.decode()
    assert 'class="error-summary"' in text
    assert 'href="#id_data_categories_0"' in text


def test_changing_a_consent_makes_a_new_version(citizen: Person, providers: None) -> None:
    consent = grant(citizen, "provider-sharing")
    data = {**FORM_DATA["provider-sharing"], "data_categories": ["conditions"]}
    response, _ = confirm(signed_in(citizen), f"/consents/{consent.id}/change/", data)
    assert response.status_code == 302
    new = Consent.objects.get(lineage=consent.lineage, version=2)
    assert new.scope["dataCategories"] == ["conditions"]
    consent.refresh_from_db()
    assert consent.status == "superseded"


def test_withdrawal_is_one_confirmation_away(citizen: Person, providers: None) -> None:
    consent = grant(citizen, "provider-sharing")
    client = signed_in(citizen)
    page = client.get(f"/consents/{consent.id}/withdraw/")
    assert page.status_code == 200
    assert client.post(f"/consents/{consent.id}/withdraw/").status_code == 302
    consent.refresh_from_db()
    assert consent.status == "withdrawn"


def test_a_double_submitted_withdrawal_says_already_withdrawn(
    citizen: Person, providers: None
) -> None:
    consent = grant(citizen, "provider-sharing")
    client = signed_in(citizen)
    client.post(f"/consents/{consent.id}/withdraw/")
    seq = LogEntry.objects.count()
    response = client.post(f"/consents/{consent.id}/withdraw/", follow=True)
    assert response.status_code == 200
    assert "jo peruttu" in response.content.decode()
    assert LogEntry.objects.count() == seq


def test_pause_then_resume(citizen: Person, providers: None) -> None:
    consent = grant(citizen, "needs-assessment")
    client = signed_in(citizen)
    client.post(f"/consents/{consent.id}/pause/")
    consent.refresh_from_db()
    assert consent.status == "paused"
    client.post(f"/consents/{consent.id}/resume/")
    consent.refresh_from_db()
    assert consent.status == "active"


def test_step_up_asks_the_password_again_after_five_minutes(
    citizen: Person, providers: None
) -> None:
    consent = grant(citizen, "provider-sharing")
    client = signed_in(citizen)
    with time_machine.travel(datetime.now().astimezone() + timedelta(minutes=6)):
        refused = client.post(f"/consents/{consent.id}/withdraw/")
        assert refused.status_code == 200
        consent.refresh_from_db()
        assert consent.status == "active"
        wrong = client.post(f"/consents/{consent.id}/withdraw/", {"step_up_password": "nope"})
        assert wrong.status_code == 200
        ok = client.post(f"/consents/{consent.id}/withdraw/", {"step_up_password": "aino-pass-1"})
        assert ok.status_code == 302
    consent.refresh_from_db()
    assert consent.status == "withdrawn"


def test_step_up_time_is_kept_in_the_session(citizen: Person) -> None:
    client = signed_in(citizen)
    assert SESSION_KEY in client.session


def test_provider_request_is_approved_with_the_notice_shown(
    citizen: Person, providers: None
) -> None:
    from consents import services
    from tests.conftest import provider_sharing_scope

    requested = services.consent_request(
        subject_id=citizen.id,
        requester=PROVIDER_OID,
        kind="provider-sharing",
        scope=provider_sharing_scope(),
    )
    client = signed_in(citizen)
    listing = client.get("/requests/")
    assert "Terveys Oy" in listing.content.decode()
    page = client.get(f"/requests/{requested.id}/")
    response = client.post(
        f"/requests/{requested.id}/",
        {"answer": "approve", "notice_sha": page.context["notice_sha"]},
    )
    assert response.status_code == 302
    requested.refresh_from_db()
    assert requested.status == "active"
    assert Notice.objects.get(pk=requested.notice_id).text == page.context["notice"]


def test_provider_request_can_be_rejected(citizen: Person, providers: None) -> None:
    from consents import services
    from tests.conftest import provider_sharing_scope

    requested = services.consent_request(
        subject_id=citizen.id,
        requester=PROVIDER_OID,
        kind="provider-sharing",
        scope=provider_sharing_scope(),
    )
    signed_in(citizen).post(f"/requests/{requested.id}/", {"answer": "reject"})
    requested.refresh_from_db()
    assert requested.status == "rejected"


def test_history_and_receipt_download(citizen: Person, providers: None) -> None:
    consent = grant(citizen, "provider-sharing")
    client = signed_in(citizen)
    page = client.get(f"/consents/{consent.id}/")
    assert "Suostumus annettu" in page.content.decode()
    receipt = Receipt.objects.get(consent=consent)
    download = client.get(f"/receipts/{receipt.id}.jws")
    assert download.status_code == 200
    assert download.content.decode() == receipt.jws


def test_a_genuine_receipt_verifies(citizen: Person, providers: None) -> None:
    consent = grant(citizen, "provider-sharing")
    receipt = Receipt.objects.get(consent=consent)
    response = signed_in(citizen).post("/receipts/verify/", {"receipt_text": receipt.jws})
    assert response.context["readable"].payload["consent"]["id"] == str(consent.id)


def test_a_tampered_receipt_fails_with_a_reason(citizen: Person, providers: None) -> None:
    consent = grant(citizen, "provider-sharing")
    jws = Receipt.objects.get(consent=consent).jws
    header, payload, signature = jws.split(".")
    forged = f"{header}.{payload[:-4]}AAAA.{signature}"
    response = signed_in(citizen).post("/receipts/verify/", {"receipt_text": forged})
    assert "receipt" not in response.context
    assert response.context["failure"]


def test_disclosures_list_permits_and_denials_newest_first_and_filter(
    citizen: Person, providers: None
) -> None:
    from django.db import transaction
    from django.utils import timezone

    grant(citizen, "provider-sharing")
    for category in ("conditions", "immunizations"):
        with transaction.atomic():
            policy.decide_and_log(
                DecisionRequest(
                    subject_id=citizen.id,
                    flow=Flow.PROVIDER_ACCESS,
                    recipient=Recipient(organisation=PROVIDER_OID),
                    at=timezone.now(),
                    purpose="care",
                    data_categories=frozenset({category}),
                )
            )
    client = signed_in(citizen)
    rows = client.get("/disclosures/").context["rows"]
    assert [r.outcome for r in rows] == ["deny", "permit"]
    assert rows[0].recipient == "Terveys Oy"
    denied = client.get("/disclosures/", {"outcome": "deny"}).context["rows"]
    assert [r.outcome for r in denied] == ["deny"]


def test_switching_language_translates_the_page(citizen: Person, providers: None) -> None:
    client = signed_in(citizen)
    client.post("/i18n/setlang/", {"language": "sv", "next": "/"})
    text = client.get("/").content.decode()
    assert 'lang="sv"' in text
    assert "Mina samtycken" in text


def test_signing_in_through_the_login_form_leads_to_the_overview(citizen: Person) -> None:
    client = Client()
    response = client.post(
        "/accounts/login/",
        {"username": "aino", "password": "aino-pass-1", "next": "/consents/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/consents/"
    assert "Omat suostumukset" in response.content.decode()


def test_offers_show_only_the_persons_own(citizen: Person, other_citizen: Person) -> None:
    from django.utils import timezone

    from connectors.models import OfferDelivery

    for subject, title in ((citizen, "Liikuntaneuvonta"), (other_citizen, "Toisen tarjous")):
        OfferDelivery.objects.create(
            subject_id=subject.id,
            sender=COUNTY_OID,
            consent_lineage=subject.id,
            log_seq=0,
            life_area="mobility",
            channel="dashboard",
            title=title,
            body="…",
            delivered_at=timezone.now(),
        )
    text = signed_in(citizen).get("/offers/").content.decode()
    assert "Liikuntaneuvonta" in text
    assert "Toisen tarjous" not in text


def test_an_enrolled_authenticator_replaces_the_password_in_step_up(citizen: Person) -> None:
    from mydata_operator.dashboard.models import TotpDevice
    from mydata_operator.dashboard.stepup import totp_code, totp_counter

    consent = grant(citizen, "provider-sharing")
    client = signed_in(citizen)
    client.post("/security/", {"action": "start"})
    device = TotpDevice.objects.get(user=citizen.user)
    code = totp_code(device.secret, totp_counter())
    assert client.post("/security/", {"action": "confirm", "code": code}).status_code == 302
    later = datetime.now().astimezone() + timedelta(minutes=6)
    with time_machine.travel(later):
        asks = client.get(f"/consents/{consent.id}/withdraw/").content.decode()
        assert 'name="step_up_code"' in asks and 'name="step_up_password"' not in asks
        refused = client.post(f"/consents/{consent.id}/withdraw/", {"step_up_code": "000000"})
        assert refused.status_code == 200
        fresh = totp_code(device.secret, totp_counter(later))
        ok = client.post(f"/consents/{consent.id}/withdraw/", {"step_up_code": fresh})
        assert ok.status_code == 302
    consent.refresh_from_db()
    assert consent.status == "withdrawn"


def test_a_one_time_code_cannot_be_used_twice(citizen: Person) -> None:
    from mydata_operator.dashboard.models import TotpDevice
    from mydata_operator.dashboard.stepup import totp_accept, totp_code, totp_counter

    assert citizen.user is not None
    device = TotpDevice.objects.create(user=citizen.user, secret="JBSWY3DPEHPK3PXP")
    code = totp_code(device.secret, totp_counter())
    assert totp_accept(device, code)
    device.refresh_from_db()
    assert not totp_accept(device, code)


def test_totp_matches_the_rfc_6238_test_vector() -> None:
    from mydata_operator.dashboard.stepup import totp_code

    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last 6 are ours.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp_code(secret, 59 // 30) == "287082"


def test_a_double_submitted_grant_gives_one_consent(citizen: Person, providers: None) -> None:
    client = signed_in(citizen)
    url = "/consents/new/provider-sharing/"
    page = client.post(url, {**FORM_DATA["provider-sharing"], "step": "preview"})
    confirmation = {
        **FORM_DATA["provider-sharing"],
        "step": "confirm",
        "notice_sha": page.context["notice_sha"],
        "confirm_token": page.context["confirm_token"],
    }
    assert client.post(url, confirmation).status_code == 302
    again = client.post(url, confirmation, follow=True)
    assert again.status_code == 200
    assert Consent.objects.filter(subject_id=citizen.id).count() == 1


def test_biobank_consent_to_collect_samples_covers_samples_without_ticking_them_twice(
    citizen: Person, providers: None
) -> None:
    data = {**FORM_DATA["biobank"], "data_categories": ["conditions"]}
    response, _ = confirm(signed_in(citizen), "/consents/new/biobank/", data)
    assert response.status_code == 302
    consent = Consent.objects.get(subject_id=citizen.id, kind="biobank")
    assert consent.scope["samples"]["collect"] is True
    assert consent.scope["dataCategories"] == ["conditions", "samples"]
    with translation.override("en"):
        assert "adds nothing" in str(BiobankForm.base_fields["data_categories"].help_text)
