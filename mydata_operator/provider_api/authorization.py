"""RFC 9396 authorization_details naming a consent, and the checks the authorize page makes.

The one type Tahto understands:
    [{"type": "tahto_consent", "consentId": "<uuid>", "actions": ["read"],
      "datatypes": ["conditions"]}]
`actions` and `datatypes` are optional; when given they must lie within the consent.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from consents.models import Consent
from consents.representation import Representation
from consents.states import Status
from mydata_operator.identity.models import Provider

from . import binding, selectors
from .models import PendingConsentRequest

ALLOWED_KEYS = frozenset({"type", "consentId", "actions", "datatypes", "identifier"})
ACTIONS = frozenset({"read"})


class DetailsError(Exception):
    """The authorization request cannot be granted; `error` is the OAuth error code."""

    def __init__(self, description: str, error: str = "invalid_authorization_details"):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class ConsentDetails:
    consent_id: UUID
    details: list[dict[str, Any]]

    @property
    def datatypes(self) -> frozenset[str]:
        return frozenset(self.details[0].get("datatypes", []))


def details_parse(raw: str | None) -> ConsentDetails:
    if not raw:
        raise DetailsError(
            'authorization_details is required: [{"type": "tahto_consent", "consentId": ...}].'
        )
    try:
        details = json.loads(raw)
    except ValueError as exc:
        raise DetailsError(f"authorization_details is not JSON: {exc}.") from exc
    if not isinstance(details, list) or len(details) != 1 or not isinstance(details[0], dict):
        raise DetailsError("authorization_details must be a JSON array of exactly one object.")
    item = details[0]
    if item.get("type") != binding.AUTHORIZATION_DETAILS_TYPE:
        raise DetailsError(
            f"authorization_details[0].type must be {binding.AUTHORIZATION_DETAILS_TYPE!r}."
        )
    unknown = sorted(set(item) - ALLOWED_KEYS)
    if unknown:
        raise DetailsError(f"authorization_details[0] has unknown fields: {', '.join(unknown)}.")
    try:
        consent_id = UUID(str(item.get("consentId")))
    except ValueError as exc:
        raise DetailsError(
            "authorization_details[0].consentId must be a consent id (UUID)."
        ) from exc
    if "identifier" in item and item["identifier"] != str(consent_id):
        raise DetailsError("authorization_details[0].identifier, if given, must equal consentId.")
    for key in ("actions", "datatypes"):
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DetailsError(f"authorization_details[0].{key} must be an array of strings.")
    if not set(item.get("actions", [])) <= ACTIONS:
        raise DetailsError("authorization_details[0].actions may only contain 'read'.")
    return ConsentDetails(consent_id=consent_id, details=[{**item, "consentId": str(consent_id)}])


@dataclass(frozen=True)
class Target:
    """What an authorization request names: a consent, or a pending request (no subject yet)."""

    consent: Consent
    pending: PendingConsentRequest | None = None


def _within(details: ConsentDetails, consent: Consent) -> None:
    wider = details.datatypes - binding.consent_categories(consent)
    if wider:
        raise DetailsError(
            "authorization_details asks for more than the consent covers: "
            + ", ".join(sorted(wider))
            + "."
        )


def consent_for_authorization(
    *,
    details: ConsentDetails,
    provider: Provider,
    representations: Sequence[Representation],
    at: datetime,
) -> Target:
    """The consent the authorization request names, if this provider may ask this user for it.

    A consent of another provider, of someone the user may not act for (or not for its
    kind), or that does not exist gets the same answer, so the response reveals nothing about it.
    """
    unknown = DetailsError("No such consent request for this client and this signed-in person.")
    consent_id = details.consent_id
    pending = PendingConsentRequest.objects.filter(
        id=consent_id, organisation_id=provider.organisation_id
    ).first()
    if pending is not None and pending.consent_lineage is not None:
        consent_id = pending.consent_lineage  # answered already: it is that consent now
    elif pending is not None:
        if not representations:
            raise unknown  # only a citizen can answer
        status = selectors.pending_status(pending, at)
        if status != "received":
            raise DetailsError(f"The consent request is {status}.", "access_denied")
        shown = selectors.pending_as_consent(pending)
        _within(details, shown)
        return Target(consent=shown, pending=pending)
    consent = binding.consent_current(consent_id)
    if (
        consent is None
        or consent.requested_by != provider.organisation_id
        or not any(
            r.subject_id == consent.subject_id and r.covers(consent.kind) for r in representations
        )
    ):
        raise unknown
    if consent.kind not in binding.TOKEN_KINDS:
        raise DetailsError(
            f"A {consent.kind} consent is not used through access tokens; "
            "use the provider endpoints of its kind."
        )
    if consent.status not in (Status.REQUESTED, Status.ACTIVE):
        raise DetailsError(
            f"The consent is {consent.status}; it cannot be authorized.", "access_denied"
        )
    _within(details, consent)
    return Target(consent=consent)
