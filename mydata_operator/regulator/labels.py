"""The regulator's words for the log's codes: event types, outcomes, flows, states, reasons.

The log stores stable codes (`consent.withdrawn`, `deny`, `care`); a regulator reads them in
fi, sv or en with the code beside the word. Every table is built of lazy strings, so a label is
translated when it is shown, in the language of that request, never once at import time.
The regulator speaks of the citizen in the third person, so its purpose and reason labels are
its own rather than the dashboard's second-person texts. A code without a label is shown as it
is, so a new code never breaks a page; `tests/regulator/test_labels.py` fails on a code that
has no label or no fi/sv translation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from consents.decisions import Flow, Reason
from consents.events import EventType
from consents.states import Provision, Status
from consents.vocabulary import CATEGORIES, KIND_LABELS

#: Shown where a field is empty (an en dash).
NONE = "\u2013"

#: Each event type in a few words (the headings of the search results and the history).
EVENT_NAMES: Mapping[str, Promise] = {
    EventType.CONSENT_REQUESTED: pgettext_lazy("log", "Consent requested"),
    EventType.CONSENT_GRANTED: pgettext_lazy("log", "Consent granted"),
    EventType.CONSENT_APPROVED: pgettext_lazy("log", "Request approved"),
    EventType.CONSENT_REJECTED: pgettext_lazy("log", "Request rejected"),
    EventType.CONSENT_CHANGED: pgettext_lazy("log", "Consent changed"),
    EventType.CONSENT_SUPERSEDED: pgettext_lazy("log", "Version replaced"),
    EventType.CONSENT_PAUSED: pgettext_lazy("log", "Consent paused"),
    EventType.CONSENT_RESUMED: pgettext_lazy("log", "Consent resumed"),
    EventType.CONSENT_WITHDRAWN: pgettext_lazy("log", "Consent withdrawn"),
    EventType.CONSENT_REVOKED: pgettext_lazy("log", "Consent revoked"),
    EventType.CONSENT_TERMINATED: pgettext_lazy("log", "Consent ended by the provider"),
    EventType.CONSENT_EXPIRED: pgettext_lazy("log", "Consent period ended"),
    EventType.MANDATE_CREATED: pgettext_lazy("log", "Mandate created"),
    EventType.MANDATE_ENDED: pgettext_lazy("log", "Mandate ended"),
    EventType.DECISION_PERMIT: pgettext_lazy("log", "Data flow permitted"),
    EventType.DECISION_DENY: pgettext_lazy("log", "Data flow denied"),
    EventType.DATA_DELIVERED: pgettext_lazy("log", "Data delivered"),
    EventType.DATA_FAILED: pgettext_lazy("log", "Delivery failed"),
    EventType.AUDIT_QUERY: pgettext_lazy("log", "Regulator's query"),
    EventType.AUDIT_INTEGRITY: pgettext_lazy("log", "Integrity check"),
    EventType.IDENTITY_CODE_CHANGED: pgettext_lazy("log", "Identity code changed"),
    EventType.PROVIDER_ORGANISATION_CHANGED: pgettext_lazy(
        "log", "Provider's organisation id changed"
    ),
    EventType.REGULATOR_ASSIGNED: pgettext_lazy("log", "Regulator access given"),
    EventType.REGULATOR_CHANGED: pgettext_lazy("log", "Regulator's organisation changed"),
    EventType.REGULATOR_UNASSIGNED: pgettext_lazy("log", "Regulator access taken away"),
    EventType.CLIENT_REDIRECT_URIS_CHANGED: pgettext_lazy("log", "Client's redirect URIs changed"),
    EventType.CLIENT_KEY_RETIRED: pgettext_lazy("log", "Client's key retired"),
    EventType.USER_RIGHTS_CHANGED: pgettext_lazy("log", "User's staff rights changed"),
    EventType.USER_PASSWORD_SET: pgettext_lazy("log", "User's password set by staff"),
    EventType.USER_EMAIL_CHANGED: pgettext_lazy("log", "User's e-mail address changed"),
    EventType.USER_DEACTIVATED: pgettext_lazy("log", "User's account turned off"),
    EventType.USER_REACTIVATED: pgettext_lazy("log", "User's account turned on again"),
}

#: Each event type's meaning; the English text is the log's contract (`EventType` labels).
EVENT_DESCRIPTIONS: Mapping[str, Promise] = {
    EventType.CONSENT_REQUESTED: pgettext_lazy("log", "A provider asked the citizen for a consent"),
    EventType.CONSENT_GRANTED: pgettext_lazy(
        "log", "The citizen (or a representative) granted a consent"
    ),
    EventType.CONSENT_APPROVED: pgettext_lazy("log", "The citizen approved a provider's request"),
    EventType.CONSENT_REJECTED: pgettext_lazy("log", "The citizen rejected a provider's request"),
    EventType.CONSENT_CHANGED: pgettext_lazy(
        "log", "The citizen changed the consent: this is its new version"
    ),
    EventType.CONSENT_SUPERSEDED: pgettext_lazy("log", "This version was replaced by a newer one"),
    EventType.CONSENT_PAUSED: pgettext_lazy(
        "log", "The citizen paused the consent; it denies until resumed"
    ),
    EventType.CONSENT_RESUMED: pgettext_lazy("log", "The citizen resumed a paused consent"),
    EventType.CONSENT_WITHDRAWN: pgettext_lazy("log", "The citizen withdrew the consent"),
    EventType.CONSENT_REVOKED: pgettext_lazy(
        "log", "Someone other than the citizen ended the consent"
    ),
    EventType.CONSENT_TERMINATED: pgettext_lazy("log", "The requesting provider ended the consent"),
    EventType.CONSENT_EXPIRED: pgettext_lazy("log", "The consent's period ended"),
    EventType.MANDATE_CREATED: pgettext_lazy("log", "A person may now act on behalf of another"),
    EventType.MANDATE_ENDED: pgettext_lazy(
        "log", "A person may no longer act on behalf of another"
    ),
    EventType.DECISION_PERMIT: pgettext_lazy(
        "log", "The policy decision point permitted a data flow"
    ),
    EventType.DECISION_DENY: pgettext_lazy("log", "The policy decision point denied a data flow"),
    EventType.DATA_DELIVERED: pgettext_lazy("log", "Permitted data was delivered to its recipient"),
    EventType.DATA_FAILED: pgettext_lazy(
        "log", "A permitted flow failed permanently; nothing was delivered"
    ),
    EventType.AUDIT_QUERY: pgettext_lazy(
        "log", "A regulator searched or exported the log (who, what filter)"
    ),
    EventType.AUDIT_INTEGRITY: pgettext_lazy(
        "log",
        "The operator's integrity check of the log ran (outcome ok or alarm, and what it found)",
    ),
    EventType.IDENTITY_CODE_CHANGED: pgettext_lazy(
        "log",
        "Operator staff changed a person's identity code (from and to as pseudonyms, never the "
        "codes); every provider token bound to the person's consents was ended",
    ),
    EventType.PROVIDER_ORGANISATION_CHANGED: pgettext_lazy(
        "log",
        "Operator staff changed a provider's organisation id (OID); every token of the "
        "provider's client was ended",
    ),
    EventType.REGULATOR_ASSIGNED: pgettext_lazy(
        "log",
        "Operator staff gave a user the regulator's read access to the log (for an organisation)",
    ),
    EventType.REGULATOR_CHANGED: pgettext_lazy(
        "log",
        "Operator staff changed the organisation a regulator user inspects for",
    ),
    EventType.REGULATOR_UNASSIGNED: pgettext_lazy(
        "log",
        "Operator staff took a user's regulator access away",
    ),
    EventType.CLIENT_REDIRECT_URIS_CHANGED: pgettext_lazy(
        "log",
        "Operator staff changed an OAuth client's redirect URIs (from and to); the codes, pushed "
        "requests and tokens that a URI taken away could have received were ended",
    ),
    EventType.CLIENT_KEY_RETIRED: pgettext_lazy(
        "log",
        "Operator staff retired an OAuth client's signing key (its kid); it authenticates no more",
    ),
    EventType.USER_RIGHTS_CHANGED: pgettext_lazy(
        "log",
        "Operator staff changed a user's staff or superuser rights (from and to)",
    ),
    EventType.USER_PASSWORD_SET: pgettext_lazy(
        "log",
        "Operator staff set a user's password (never written to the log)",
    ),
    EventType.USER_EMAIL_CHANGED: pgettext_lazy(
        "log",
        "Operator staff changed a user's e-mail address, where password resets go (the "
        "addresses are not written to the log)",
    ),
    EventType.USER_DEACTIVATED: pgettext_lazy(
        "log",
        "Operator staff turned a user's account off: the user was signed out everywhere, and "
        "the app authorizations, codes and pushed requests their account held were ended",
    ),
    EventType.USER_REACTIVATED: pgettext_lazy(
        "log",
        "Operator staff turned a user's account on again (nothing ended before comes back)",
    ),
}

OUTCOMES: Mapping[str, Promise] = {
    "permit": pgettext_lazy("decision outcome", "Permitted"),
    "deny": pgettext_lazy("decision outcome", "Denied"),
}

FLOWS: Mapping[str, Promise] = {
    Flow.PROVIDER_ACCESS: pgettext_lazy("log", "A provider fetches the person's data"),
    Flow.PROVIDER_PUSH: pgettext_lazy("log", "Self-produced data sent to a provider"),
    Flow.PHR_STORE: pgettext_lazy("log", "Self-produced data stored in Kanta PHR"),
    Flow.RESEARCH: pgettext_lazy("log", "A biobank research request"),
    Flow.NEEDS_ASSESSMENT: pgettext_lazy("log", "An unsolicited offer of services"),
}

STATUSES: Mapping[str, Promise] = {
    Status.REQUESTED: pgettext_lazy("consent status", "Requested, waiting for the citizen"),
    Status.ACTIVE: pgettext_lazy("consent status", "In force"),
    Status.PAUSED: pgettext_lazy("consent status", "Paused"),
    Status.WITHDRAWN: pgettext_lazy("consent status", "Withdrawn"),
    Status.REVOKED: pgettext_lazy("consent status", "Revoked"),
    Status.TERMINATED: pgettext_lazy("consent status", "Ended by the provider"),
    Status.EXPIRED: pgettext_lazy("consent status", "Period ended"),
    Status.REJECTED: pgettext_lazy("consent status", "Rejected"),
    Status.SUPERSEDED: pgettext_lazy("consent status", "Replaced by a newer version"),
}

PROVISIONS: Mapping[str, Promise] = {
    Provision.PERMIT: pgettext_lazy("consent provision", "Permits"),
    Provision.DENY: pgettext_lazy("consent provision", "Refuses"),
}

#: Why the decision point decided as it did, in the third person.
REASONS: Mapping[str, Promise] = {
    Reason.PERMITTED: pgettext_lazy("log", "A valid consent permits this."),
    Reason.NO_CONSENT: pgettext_lazy("log", "No consent covers this recipient."),
    Reason.REFUSED: pgettext_lazy("log", "The person has refused this."),
    Reason.NOT_YET_VALID: pgettext_lazy("log", "The consent is not yet in force."),
    Reason.EXPIRED: pgettext_lazy("log", "The consent's period has ended."),
    Reason.PAUSED: pgettext_lazy("log", "The consent is paused."),
    Reason.WITHDRAWN: pgettext_lazy("log", "The consent was withdrawn."),
    Reason.REVOKED: pgettext_lazy("log", "The consent was revoked."),
    Reason.TERMINATED: pgettext_lazy("log", "The provider ended the consent."),
    Reason.NOT_APPROVED: pgettext_lazy("log", "The person has not approved the request."),
    Reason.PURPOSE: pgettext_lazy("log", "The consent does not cover this purpose of use."),
    Reason.CATEGORIES: pgettext_lazy("log", "The consent does not cover these kinds of data."),
    Reason.FREQUENCY: pgettext_lazy(
        "log", "The recipient has used the consent as often as it allows today."
    ),
    Reason.SOURCE: pgettext_lazy(
        "log", "The consent does not cover data from this application or device."
    ),
    Reason.CHANNEL: pgettext_lazy(
        "log", "The consent does not cover contact through this channel."
    ),
    Reason.LIFE_AREA: pgettext_lazy("log", "The consent does not cover this area of life."),
    Reason.DUO: pgettext_lazy("log", "The biobank consent does not cover this kind of research."),
    Reason.WRONG_RECIPIENT: pgettext_lazy("log", "The consent was given to another recipient."),
    Reason.NOT_GRANTED: pgettext_lazy(
        "log", "The recipient was not granted access to these kinds of data."
    ),
}

#: Purposes of use (schemas: common/definitions.v1 "purpose"), in the third person.
PURPOSES: Mapping[str, Promise] = {
    "care": _("Care and treatment"),
    "care-coordination": _("Coordinating care between providers"),
    "service-need-assessment": _("Assessing the need for services"),
    "self-care-support": _("Supporting self-care"),
    "research": _("Research"),
}

#: Who acted on a consent: the person, a guardian or the holder of a mandate.
ROLES: Mapping[str, Promise] = {
    "self": _("The person themself"),
    "guardian": _("Guardian"),
    "mandate": _("Holder of a mandate"),
}

ACTOR_TYPES: Mapping[str, Promise] = {
    "person": pgettext_lazy("actor", "Person"),
    "provider": pgettext_lazy("actor", "Provider"),
    "operator": pgettext_lazy("actor", "Operator"),
    "system": pgettext_lazy("actor", "The service itself"),
    "regulator": pgettext_lazy("actor", "Regulator"),
}

#: The keys of a consent's scope (schemas/consent-kinds/*.json) and of their parts.
SCOPE_KEYS: Mapping[str, Promise] = {
    "recipient": _("Recipient"),
    "organisation": _("Organisation"),
    "providerKind": _("Kind of provider"),
    "name": _("Name"),
    "dataCategories": _("Data categories"),
    "purpose": _("Purpose"),
    "frequencyPerDay": _("Times a day at most"),
    "dataPeriod": _("Data from the period"),
    "start": _("Start"),
    "end": _("End"),
    "sources": _("Sources"),
    "application": _("Application"),
    "device": _("Device"),
    "targets": _("Where the data may go"),
    "type": _("Type"),
    "senders": _("Senders"),
    "channels": _("Channels"),
    "lifeAreas": _("Areas of life"),
    "biobank": _("Biobank"),
    "samples": _("Samples"),
    "collect": _("Samples may be collected"),
    "types": _("Types"),
    "existingSamples": _("Existing samples may be used"),
    "registerLinking": _("Register data may be linked"),
    "allowed": _("Allowed"),
    "permission": _("Research use permitted (DUO)"),
    "code": _("Code"),
    "disease": _("Disease (ICD-10)"),
    "modifiers": _("Conditions of use (DUO)"),
    "restrictions": _("Restrictions"),
    "institutions": _("Institutions"),
    "projects": _("Projects"),
    "until": _("Until"),
    "moratoriumUntil": _("Publication moratorium until"),
    "recontact": _("The person may be contacted again"),
}


def label(table: Mapping[str, Promise], code: str | None) -> str:
    """The label of `code` in the active language; the code itself when it has none."""
    if not code:
        return ""
    return str(table[code]) if code in table else code


def kind_or_flow(code: str) -> str:
    """A consent kind's name or a data flow's description."""
    if code in KIND_LABELS:
        return str(KIND_LABELS[code])
    return label(FLOWS, code)


def _value_text(key: str, value: Any) -> str:
    """A scope value as text: known codes by their labels, yes/no for booleans."""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, str):
        if key == "dataCategories":
            return label(CATEGORIES, value)
        if key == "purpose":
            return label(PURPOSES, value)
        return value
    if isinstance(value, list):
        return ", ".join(_value_text(key, v) for v in value) or NONE
    if isinstance(value, dict):
        return "; ".join(f"{label(SCOPE_KEYS, k)}: {_value_text(k, v)}" for k, v in value.items())
    if value is None:
        return NONE
    return json.dumps(value, ensure_ascii=False)


def scope_items(scope: Any) -> list[tuple[str, str, str]]:
    """A consent's scope as (label, key, text) rows; readable, the key kept for reference."""
    if not isinstance(scope, dict):
        return [(str(_("Scope")), "", _value_text("", scope))]
    return [(label(SCOPE_KEYS, k), k, _value_text(k, v)) for k, v in scope.items()]
