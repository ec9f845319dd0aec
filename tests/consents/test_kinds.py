"""The registry of consent kinds is the one home of each kind.

A throwaway kind registered only in ``consents.kinds.KINDS`` is decided on, exported as FHIR
and given receipts without a change anywhere else; and no module outside the kinds' own
modules switches on a kind's name.
"""

import datetime as dt
import io
import re
import tokenize
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy
from fhir.resources.R4B.consent import Consent as FhirConsent

import schemas
from consents import fhir, receipts, vocabulary
from consents import fhir_parts as F
from consents.decisions import Flow, Reason
from consents.errors import ConsentError, invalid
from consents.kinds import (
    KINDS,
    ConsentKind,
    Match,
    Party,
    ReceiptPurpose,
    Scope,
    UnknownKind,
    kind_spec,
    kinds_answering,
    names_only,
    party_names,
)
from consents.kinds import base as kind_base
from consents.models import Consent
from consents.policy import DecisionRequest, Recipient, decide
from consents.states import Kind
from mydata_operator.dashboard.kinds import DASHBOARD_KINDS

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]
REGISTER = {"organisation": "1.2.246.10.9999999.10.0", "name": "Elinluovutusrekisteri"}
OTHER = "1.2.246.10.1111111.10.0"


class OrganDonation(ConsentKind):
    """A kind that exists only in this test: the citizen lets a register see chosen data."""

    code = "organ-donation"
    label = gettext_lazy("Organ donation will")
    description = gettext_lazy("Whether the donation register may see your will.")
    schema = "consent-kinds/organ-donation.v1"
    flows = frozenset({Flow.PROVIDER_ACCESS})
    receipt_service = {"fi": "Elinluovutustahto", "sv": "Organdonationsvilja", "en": "Organ will"}
    recipient_key = "register"

    def covers_recipient(self, scope: Scope, recipient: kind_base.Recipient) -> bool:
        return party_names(scope.get("register"), recipient)

    def match(self, scope: Scope, request: kind_base.DecisionRequest, *, used_today: int) -> Match:
        granted = frozenset(scope.get("dataCategories", [])) & request.data_categories
        return Match(Reason.PERMITTED, granted) if granted else Match(Reason.CATEGORIES)

    def organisations(self, scope: Scope) -> list[Party]:
        party = self.recipient(scope)
        return [party] if party is not None else []

    def fhir_provision(self, provision: dict[str, Any], scope: Scope, provision_type: str) -> None:
        provision["actor"] = [F.actor("IRCP", scope["register"])]
        provision["action"] = F.actions(["access"])
        provision["purpose"] = F.purposes(["care"])

    def receipt_purposes(self, scope: Scope) -> list[ReceiptPurpose]:
        return [ReceiptPurpose("care", primary=True, disclosed=True)]

    def check_requester(self, scope: Scope, organisation: str) -> None:
        if not names_only(scope.get("register"), organisation):
            raise invalid("/scope/register", "The register must be your own organisation.")


@pytest.fixture
def organ_donation() -> Iterator[OrganDonation]:
    """Register the throwaway kind for one test, and remove it afterwards."""
    kind = OrganDonation()
    KINDS[kind.code] = kind
    try:
        yield kind
    finally:
        del KINDS[kind.code]


def make_consent(kind: str, scope: dict[str, Any], **fields: Any) -> Consent:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "lineage": uuid.uuid4(),
        "version": 1,
        "kind": kind,
        "schema": "",
        "subject_id": uuid.uuid4(),
        "provision": "permit",
        "scope": scope,
        "status": "active",
        "valid_from": T0,
        "valid_until": None,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Consent(**values)


def organ_consent(**fields: Any) -> Consent:
    scope = {"register": REGISTER, "dataCategories": ["conditions", "medications"]}
    return make_consent("organ-donation", scope, **fields)


def request_for(consent: Consent, organisation: str, *categories: str) -> DecisionRequest:
    return DecisionRequest(
        subject_id=consent.subject_id,
        flow=Flow.PROVIDER_ACCESS,
        recipient=Recipient(organisation=organisation),
        at=T0 + dt.timedelta(hours=1),
        data_categories=frozenset(categories),
    )


# --- a new kind is its own module --------------------------------------------------------------


def test_decide_permits_a_registered_kind_only_what_its_scope_names(organ_donation):
    consent = organ_consent()

    permit = decide(request_for(consent, REGISTER["organisation"], "conditions"), [consent])
    other = decide(request_for(consent, OTHER, "conditions"), [consent])
    narrow = decide(request_for(consent, REGISTER["organisation"], "immunizations"), [consent])

    assert permit.permit and permit.consent_id == consent.id
    assert permit.permitted_categories == frozenset({"conditions"})
    assert (other.permit, other.reason) == (False, Reason.NO_CONSENT)
    assert (narrow.permit, narrow.reason) == (False, Reason.CATEGORIES)


def test_the_policys_own_rules_hold_for_a_registered_kind(organ_donation):
    withdrawn = organ_consent(status="withdrawn")
    refusal = organ_consent(provision="deny", created_at=T0 - dt.timedelta(days=1))
    permit = organ_consent(subject_id=refusal.subject_id)

    ended = decide(request_for(withdrawn, REGISTER["organisation"], "conditions"), [withdrawn])
    refused = decide(request_for(permit, REGISTER["organisation"], "conditions"), [permit, refusal])

    assert (ended.permit, ended.reason) == (False, Reason.WITHDRAWN)
    assert (refused.permit, refused.reason) == (False, Reason.REFUSED)


def test_fhir_export_of_a_registered_kind_validates_and_carries_its_provision(organ_donation):
    consent = organ_consent()

    resource = fhir.consent_to_fhir(consent, patient={"display": "a citizen"})

    FhirConsent.model_validate(resource)
    category = resource["category"][1]["coding"][0]
    assert (category["code"], category["display"]) == ("organ-donation", "Organ donation will")
    assert resource["policy"] == [
        {"uri": "https://schemas.tahto.fi/consent-kinds/organ-donation.v1.json"}
    ]
    [actor] = resource["provision"]["actor"]
    assert actor["reference"]["identifier"]["value"] == f"urn:oid:{REGISTER['organisation']}"
    assert [c["code"] for c in resource["provision"]["action"][0]["coding"]] == ["access"]


def test_receipt_of_a_registered_kind_names_its_service_purposes_and_controllers(
    organ_donation,
):
    consent = organ_consent()

    payload = receipts.receipt_payload(
        consent=consent,
        event_type="consent.granted",
        actor_id=consent.subject_id,
        actor_role="self",
        log_entry_id=1,
        leaf_hash=bytes(32),
        issued_at=T0,
        receipt_id=uuid.uuid4(),
        language="sv",
    )

    [service] = payload["services"]
    assert service["service"] == "Organdonationsvilja"
    [purpose] = service["purposes"]
    assert purpose["purposeCategory"] == ["care"]
    assert purpose["piiCategory"] == ["conditions", "medications"]
    assert purpose["thirdPartyName"] == REGISTER["name"]
    assert REGISTER["organisation"] in {c["organisationId"] for c in payload["piiControllers"]}


def test_the_shared_vocabulary_reads_a_registered_kinds_label(organ_donation):
    with translation.override("fi"):
        assert vocabulary.label(vocabulary.KIND_LABELS, "organ-donation") == "Organ donation will"
    assert "organ-donation" in vocabulary.KIND_DESCRIPTIONS
    assert kinds_answering(Flow.PROVIDER_ACCESS)[-1] == "organ-donation"


def test_the_registered_kind_is_gone_after_its_fixture():
    assert "organ-donation" not in KINDS
    with pytest.raises(UnknownKind, match="unknown consent kind 'organ-donation'; known: biobank"):
        kind_spec("organ-donation")


# --- the registry agrees with the schemas, the database and the dashboard -----------------------


def test_every_kind_has_its_schema_and_the_schemas_publish_every_kind():
    definitions = schemas.get("common/definitions.v1")["$defs"]

    assert list(KINDS) == definitions["consentKind"]["enum"] == [k.value for k in Kind]
    for code, kind in KINDS.items():
        assert kind.code == code
        assert kind.schema == schemas.kind_schema(code)


def test_the_dashboard_offers_every_kind_with_a_form_for_it():
    assert set(DASHBOARD_KINDS) == set(KINDS)
    for code, entry in DASHBOARD_KINDS.items():
        assert entry.form.kind == code


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_every_kind_translates_its_label_and_description(language):
    for kind in KINDS.values():
        for text in (kind.label, kind.description):
            with translation.override(None):
                english = str(text)
            with translation.override(language):
                assert str(text) != english, (kind.code, language, english)


@pytest.mark.parametrize("code", sorted(KINDS))
def test_a_provider_may_ask_only_for_a_consent_that_names_itself(code):
    scopes: dict[str, dict[str, Any]] = {
        "biobank": {"biobank": {"organisation": OTHER}},
        "needs-assessment": {"senders": [{"organisation": OTHER}]},
        "provider-sharing": {"recipient": {"organisation": OTHER}},
        "wellbeing-sharing": {
            "targets": [{"type": "provider", "recipient": {"organisation": OTHER}}]
        },
    }

    KINDS[code].check_requester(scopes[code], OTHER)
    with pytest.raises(ConsentError) as error:
        KINDS[code].check_requester(scopes[code], REGISTER["organisation"])
    assert error.value.errors[0].pointer.startswith("/scope/")


# --- nothing else switches on a kind's name ----------------------------------------------------

#: Where a kind may be named: its own modules (and the seed data of the demo).
KIND_HOMES = ("consents/kinds/", "mydata_operator/dashboard/kinds/", "/migrations/", "demo_data.py")
PACKAGES = ("consents", "connectors", "mydata_operator", "schemas")
CODES = "biobank|needs-assessment|provider-sharing|wellbeing-sharing"
#: `Kind.BIOBANK`, `== "biobank"`, `in ("biobank", ...)`: a switch on a consent kind.
SWITCH = re.compile(
    rf"(?<![\w.])Kind\.(BIOBANK|NEEDS_ASSESSMENT|PROVIDER_SHARING|WELLBEING_SHARING)\b"
    rf"|(==|!=)\s*[\"']({CODES})[\"']"
    rf"|[\"']({CODES})[\"']\s*(==|!=)"
)
#: These two codes mean nothing but a consent kind (biobank is also a provider kind and a
#: scope key, needs-assessment also a flow), so no other module spells them out at all.
ONLY_KINDS = frozenset({"provider-sharing", "wellbeing-sharing"})


def _sources() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not any(home in relative for home in KIND_HOMES):
                yield path


def test_no_module_outside_the_kinds_switches_on_a_kind():
    found = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in SWITCH.finditer(text)]
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.string.strip("\"'") in ONLY_KINDS:
                found.append(f"{path.relative_to(ROOT)}:{token.start[0]}: {token.string}")

    assert found == []


def test_the_switch_detector_sees_a_switch():
    assert SWITCH.search('if kind == "biobank":')
    assert SWITCH.search("if consent.kind in (Kind.PROVIDER_SHARING,):")
    assert not SWITCH.search("if provider.kind != Provider.Kind.BIOBANK:")


def test_no_face_imports_another_face_for_its_words():
    faces = ("dashboard", "provider_api", "regulator")
    crossings = []
    for face in faces:
        for path in sorted((ROOT / "mydata_operator" / face).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for other in faces:
                if other != face and f"mydata_operator.{other}" in text:
                    crossings.append(f"{path.relative_to(ROOT)} imports mydata_operator.{other}")

    assert crossings == []
