"""Plain-language names for the codes the citizen sees: kinds, states, data categories,
purposes, DUO codes, life areas, channels, log events and policy reasons.

English source strings, translated in this app's locale/ (fi, sv); the kinds, data categories
and purposes are the shared vocabulary of every face (`consents.vocabulary`, translated in
consents/locale/). Codes without a label are shown as they are, so a new code never breaks a
page.
"""

from collections.abc import Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

import schemas
from consents.vocabulary import CATEGORIES as CATEGORIES
from consents.vocabulary import KIND_DESCRIPTIONS, KIND_LABELS
from consents.vocabulary import PURPOSES as PURPOSES

#: Kinds, data categories and purposes are the shared vocabulary (`consents.vocabulary`).
KINDS = KIND_LABELS
KIND_HELP = KIND_DESCRIPTIONS

STATUSES: dict[str, Promise] = {
    "requested": _("Waiting for your answer"),
    "active": _("In force"),
    "paused": _("Paused"),
    "withdrawn": _("Withdrawn"),
    "revoked": _("Revoked"),
    "terminated": _("Ended by the provider"),
    "expired": _("Expired"),
    "rejected": _("Declined"),
    "superseded": _("Replaced by a newer version"),
}

CLINICAL_CATEGORIES = [
    "demographics",
    "conditions",
    "medications",
    "immunizations",
    "observations",
    "questionnaires",
]
SELF_PRODUCED_CATEGORIES = list(schemas.codes("selfProducedCategory"))
BIOBANK_CATEGORIES = ["samples", "register-data", *CLINICAL_CATEGORIES]

LIFE_AREAS: dict[str, Promise] = {
    "health": _("Health"),
    "mental-wellbeing": _("Mental wellbeing"),
    "substance-use": _("Substance use"),
    "mobility": _("Mobility"),
    "everyday-functioning": _("Coping with everyday life"),
    "housing": _("Housing"),
    "income": _("Income"),
    "work-and-study": _("Work and study"),
    "family": _("Family"),
    "social-relations": _("Friends and social life"),
}

CHANNELS: dict[str, Promise] = {
    "dashboard": _("This service (Tahto)"),
    "letter": _("Letter"),
    "sms": _("Text message"),
    "email": _("E-mail"),
    "phone": _("Phone call"),
}

PROVIDER_KINDS: dict[str, Promise] = {
    "wellbeing-county": _("every wellbeing services county"),
    "care-provider": _("every health care provider"),
    "social-care-provider": _("every social care provider"),
    "occupational-health": _("every occupational health care provider"),
    "biobank": _("every biobank"),
    "wellbeing-app": _("every wellbeing application"),
}

SAMPLE_TYPES: dict[str, Promise] = {
    "blood": _("blood"),
    "plasma": _("plasma"),
    "serum": _("serum"),
    "tissue": _("tissue"),
    "saliva": _("saliva"),
    "urine": _("urine"),
    "dna": _("DNA"),
    "cells": _("cells"),
}

LINK_SOURCES: dict[str, Promise] = {
    "kanta": _("Kanta, the national archive"),
    "care-records": _("the care providers' own records"),
    "national-registers": _("national registers (e.g. the cancer register)"),
}

#: DUO codes in words; the vocabulary (schemas.duo_vocabulary()) is the list of codes.
DUO: dict[str, Promise] = {
    "NRES": _("any use, without restriction"),
    "GRU": _("any research"),
    "HMB": _("health, medical or biomedical research"),
    "DS": _("research on one disease"),
    "POA": _("research on population origins or ancestry only"),
    "NPU": _("only by not-for-profit organisations"),
    "NCU": _("only for non-commercial use"),
    "NPUNCU": _("only by not-for-profit organisations for non-commercial use"),
    "NPOA": _("not for research on population origins or ancestry"),
    "GSO": _("only for genetic studies"),
    "IRB": _("only with ethics committee approval"),
    "COL": _("only in collaboration with the biobank"),
    "PUB": _("the results must be published"),
    "RTN": _("results must be returned to the biobank"),
    "US": _("only by named users"),
    "PS": _("only in named projects"),
    "IS": _("only by named institutions"),
    "TS": _("only until a set date"),
    "MOR": _("results not published before a set date"),
    "NMDS": _("not for developing general research methods"),
    "RS": _("only for specified research"),
    "GS": _("only in a specified geographical area"),
}
DUO_PERMISSIONS = ["GRU", "HMB", "DS", "POA", "NRES"]
DUO_MODIFIERS = ["NPU", "NCU", "IRB", "COL", "PUB", "RTN", "GSO", "NPOA", "NMDS"]

EVENTS: dict[str, Promise] = {
    "consent.requested": _("A provider asked for your consent"),
    "consent.granted": _("Consent given"),
    "consent.approved": _("Request approved"),
    "consent.rejected": _("Request declined"),
    "consent.changed": _("Consent changed (new version)"),
    "consent.superseded": _("Earlier version replaced"),
    "consent.paused": _("Consent paused"),
    "consent.resumed": _("Consent resumed"),
    "consent.withdrawn": _("Consent withdrawn"),
    "consent.revoked": _("Consent revoked"),
    "consent.terminated": _("Ended by the provider"),
    "consent.expired": _("Consent expired"),
    "decision.permit": _("Data flow permitted"),
    "decision.deny": _("Data flow denied"),
    "flow.delivered": _("Data delivered"),
    "flow.failed": _("Delivery failed"),
}

#: consents.policy.Reason codes said to a citizen.
REASONS: dict[str, Promise] = {
    "permitted": _("Your consent permits this."),
    "no-consent": _("You have not given a consent that covers this recipient."),
    "refused": _("You have refused this."),
    "not-yet-valid": _("Your consent is not yet in force."),
    "expired": _("Your consent has expired."),
    "paused": _("You have paused this consent."),
    "withdrawn": _("You have withdrawn this consent."),
    "revoked": _("This consent was revoked."),
    "terminated": _("The provider ended this consent."),
    "not-approved": _("You have not approved this consent."),
    "purpose-not-covered": _("Your consent does not cover this purpose of use."),
    "categories-not-covered": _("Your consent does not cover these kinds of data."),
    "frequency-exceeded": _(
        "The recipient has already used this consent as often as it allows today."
    ),
    "source-not-covered": _("Your consent does not cover data from this application or device."),
    "channel-not-covered": _("Your consent does not cover contact through this channel."),
    "life-area-not-covered": _("Your consent does not cover this area of life."),
    "research-use-not-covered": _("Your biobank consent does not cover this kind of research."),
    "consent-for-another-recipient": _("This consent was given to another recipient."),
    "not-granted": _("The recipient was not granted access to these kinds of data."),
}

ROLES: dict[str, Promise] = {
    "self": _("you"),
    "guardian": _("guardian"),
    "mandate": _("holder of a mandate"),
}

#: Decisions a provider's system asked for without moving data (the log's `requestedBy`).
CONSULTS: dict[str, Promise] = {
    "cds-hooks:patient-consent-consult": _(
        "A provider's system asked whether it may receive your data"
    ),
}

FLOWS: dict[str, Promise] = {
    "provider-access": _("A provider fetched data"),
    "provider-push": _("Self-produced data sent to a provider"),
    "phr-store": _("Self-produced data stored in MyKanta"),
    "research": _("Research request"),
    "needs-assessment": _("Offer of services"),
    # the connectors that deliver (connectors.base.Connector.name)
    "kanta.consent": _("Your consent was sent to Kanta"),
    "kanta.query": _("Data fetched from Kanta"),
    "kanta.phr": _("Self-produced data stored in MyKanta"),
    "provider.fhir": _("Data sent to a provider"),
    "provider.webhook": _("A provider was told about a change in your consent"),
    "biobank": _("Research request"),
    "offers": _("Offer of services"),
}

#: Recipients that are not organisations (the log's recipient column).
RECIPIENTS: dict[str, Promise] = {
    "kanta": _("Kanta, the national archive"),
    "kanta-phr": pgettext_lazy("recipient", "MyKanta personal health record"),
}

KANTA_PHR = pgettext_lazy("recipient", "MyKanta personal health record")


def label(table: Mapping[str, Promise], code: str) -> str:
    """The label of `code`, or the code itself when it has none."""
    return str(table.get(code, code))


def labels(table: Mapping[str, Promise], codes: list[str] | tuple[str, ...]) -> list[str]:
    return [label(table, c) for c in codes]


def duo_known(code: str) -> bool:
    return code in schemas.duo_vocabulary()
