"""Reading consent requests as a provider sees them (NextGenPSD2-style statuses)."""

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet

from connectors.models import Endpoint
from consents.log import iso
from consents.models import Consent
from consents.states import Status

from . import binding
from .models import PendingConsentRequest

#: Our consent states as the provider API reports them (NextGenPSD2 consentStatus, adapted).
#: `paused` and `revoked` have no NextGenPSD2 counterpart: a paused consent is in force but
#: denies until the citizen resumes it (tokens are inactive meanwhile); a revoked one was ended
#: by someone other than the citizen or the provider (the operator, or a mandate ending).
STATUS_MAP: dict[str, str] = {
    Status.REQUESTED: "received",
    Status.ACTIVE: "valid",
    Status.PAUSED: "paused",
    Status.WITHDRAWN: "withdrawn",
    Status.REVOKED: "revoked",
    Status.TERMINATED: "terminatedByProvider",
    Status.EXPIRED: "expired",
    Status.REJECTED: "rejected",
    Status.SUPERSEDED: "valid",  # never shown: the newest version speaks for the lineage
}
PUBLIC_STATUSES = sorted(set(STATUS_MAP.values()))


def consent_request_for_provider(*, consent_id: UUID, organisation_id: str) -> Consent | None:
    """The newest version of a consent this provider requested; None for anyone else's."""
    consent = binding.consent_current(consent_id)
    if consent is None or consent.requested_by != organisation_id:
        return None
    return consent


def pending_for_provider(*, request_id: UUID, organisation_id: str) -> PendingConsentRequest | None:
    return PendingConsentRequest.objects.filter(
        id=request_id, organisation_id=organisation_id
    ).first()


def webhooks_for(*, organisation_id: str) -> QuerySet[Endpoint]:
    """The provider's webhooks, oldest first."""
    return Endpoint.objects.filter(
        organisation_id=organisation_id, kind=Endpoint.Kind.WEBHOOK
    ).order_by("created_at")


def webhook_for(*, webhook_id: UUID, organisation_id: str) -> Endpoint | None:
    """One of the provider's webhooks; None if it is unknown or another provider's."""
    return webhooks_for(organisation_id=organisation_id).filter(id=webhook_id).first()


def pending_status(pending: PendingConsentRequest, at: datetime) -> str:
    if pending.terminated_at is not None:
        return "terminatedByProvider"
    if pending.request_expires_at <= at or pending.valid_until <= at:
        return "expired"
    return "received"


def pending_as_consent(pending: PendingConsentRequest) -> Consent:
    """An unsaved Consent showing what a pending request asks, for display and the notice."""
    return Consent(
        id=pending.id,
        lineage=pending.id,
        kind=pending.kind,
        scope=pending.scope,
        status=Status.REQUESTED,
        valid_from=pending.valid_from or pending.created_at,
        valid_until=pending.valid_until,
        requested_by=pending.organisation_id,
        request_expires_at=pending.request_expires_at,
        created_at=pending.created_at,
        updated_at=pending.terminated_at or pending.created_at,
    )


def pending_request_json(
    pending: PendingConsentRequest, *, client_id: str, at: datetime
) -> dict[str, Any]:
    body = consent_request_json(pending_as_consent(pending), client_id=client_id, at=at)
    body["consentStatus"] = pending_status(pending, at)
    body["period"]["start"] = iso(pending.valid_from) if pending.valid_from else None
    return body


def consent_status(consent: Consent, at: datetime) -> str:
    if (
        consent.status == Status.REQUESTED
        and consent.request_expires_at
        and consent.request_expires_at <= at
    ):
        return "expired"  # the periodic expiry has not run yet; the answer is already no
    if (
        consent.status in (Status.ACTIVE, Status.PAUSED)
        and consent.valid_until
        and consent.valid_until <= at
    ):
        return "expired"
    return STATUS_MAP[consent.status]


def authorize_link(consent: Consent, client_id: str) -> str:
    details = f'[{{"type":"{binding.AUTHORIZATION_DETAILS_TYPE}","consentId":"{consent.lineage}"}}]'
    query = urlencode(
        {"response_type": "code", "client_id": client_id, "authorization_details": details}
    )
    return f"{settings.TAHTO_PUBLIC_URL}/o/authorize/?{query}"


def consent_request_json(consent: Consent, *, client_id: str, at: datetime) -> dict[str, Any]:
    base = f"/api/v1/consent-requests/{consent.lineage}"
    links: dict[str, Any] = {
        "self": {"href": base},
        "status": {"href": f"{base}/status"},
    }
    if consent.kind in binding.TOKEN_KINDS:
        links["scaOAuth"] = {
            "href": authorize_link(consent, client_id),
            "description": "Send the citizen here, adding redirect_uri, state, code_challenge "
            "and code_challenge_method=S256.",
        }
    else:
        links["scaRedirect"] = {
            "href": f"{settings.TAHTO_PUBLIC_URL}/",
            "description": "The citizen approves this consent in the Tahto dashboard.",
        }
    return {
        "consentId": str(consent.lineage),
        "consentStatus": consent_status(consent, at),
        "kind": consent.kind,
        "version": consent.version,
        "scope": consent.scope,
        "period": {
            "start": iso(consent.valid_from),
            "end": iso(consent.valid_until) if consent.valid_until else None,
        },
        "requestValidUntil": iso(consent.request_expires_at)
        if consent.request_expires_at
        else None,
        "createdAt": iso(consent.created_at),
        "updatedAt": iso(consent.updated_at),
        "_links": links,
    }
