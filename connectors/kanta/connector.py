"""The Kanta connector: consents registered as FHIR Consent, provider queries answered.

* ``KantaConsentConnector`` (outbox ``kanta.consent``): a consent of a national kind is
  registered in Kanta when it comes into force, and every later change, pause, withdrawal or
  end is sent too (``events``; a request that ends before approval was never in force). It
  puts the newest version of a consent lineage to ``Consent/<lineage>`` (PUT is idempotent,
  and sending the newest version makes any order of delivery end in the same state). It
  carries consent metadata only, the citizen's own act, so there is no data flow to decide on.
* ``provider_query``: a provider asks for a citizen's data; the decision point decides on the
  categories of the asked types, Kanta is searched only for permitted types, and only
  resources of permitted categories are returned. Synchronous: the provider waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import timezone

from consents.events import EventType
from consents.fhir import consent_to_fhir
from consents.fhir_terminology import fhir_issues
from consents.models import Consent
from consents.policy import Decision, DecisionRequest, Flow, Recipient

from ..base import (
    Connector,
    ConnectorError,
    Delivery,
    LogEvent,
    OutboxConnector,
    OutboxRequest,
)
from ..categories import categories_for_types, resource_category, types_for_categories
from ..models import OutboxItem
from ..subjects import HETU_SYSTEM, patient_reference, personal_identity_code
from .client import kanta_client

KANTA = "kanta"


class KantaConsentConnector(OutboxConnector):
    name = "kanta.consent"
    #: Events that put a consent in force or change one that is (or was) registered.
    events = frozenset(
        {
            EventType.CONSENT_GRANTED,
            EventType.CONSENT_APPROVED,
            EventType.CONSENT_CHANGED,
            EventType.CONSENT_PAUSED,
            EventType.CONSENT_RESUMED,
            EventType.CONSENT_WITHDRAWN,
            EventType.CONSENT_REVOKED,
            EventType.CONSENT_TERMINATED,
            EventType.CONSENT_EXPIRED,
        }
    )

    def outbox_items(self, event: LogEvent) -> Sequence[OutboxRequest]:
        # A request that ends before approval (expired, terminated, revoked) was never in force.
        never_in_force = (
            event.body.get("fromStatus") == "requested"
            and event.entry.event_type != EventType.CONSENT_APPROVED
        )
        if not event.national or never_in_force:
            return ()
        return (OutboxRequest({"consentId": event.consent["id"], "event": event.entry.event_type}),)

    def decision_request(self, item: OutboxItem, at: datetime) -> DecisionRequest | None:
        return None  # consent metadata: the citizen's own expression of will, not their data

    def send(self, item: OutboxItem, decision: Decision | None) -> Delivery:
        payload = item.payload or {}
        try:
            consent = Consent.objects.get(id=payload["consentId"])
        except (KeyError, Consent.DoesNotExist) as exc:
            raise ConnectorError(f"no consent for outbox item {item.key}", True) from exc
        newest = Consent.objects.filter(lineage=consent.lineage).order_by("-version").first()
        assert newest is not None
        resource = consent_to_fhir(newest, patient=patient_reference(newest.subject_id))
        resource["id"] = str(newest.lineage)  # one Kanta Consent per lineage, kept current
        stored = kanta_client().update(resource)
        return Delivery(
            KANTA,
            {
                "resourceType": "Consent",
                "id": stored.get("id"),
                "versionId": (stored.get("meta") or {}).get("versionId"),
                "consentVersion": newest.version,
                "status": resource["status"],
                "event": payload.get("event"),
            },
        )


# --- Provider queries ---------------------------------------------------------------------


@dataclass(frozen=True)
class QueryResult:
    """The decision, and on permit a searchset Bundle of only the permitted categories."""

    decision: Decision
    bundle: dict[str, Any] | None


class ProviderQueryConnector(Connector):
    name = "kanta.query"


_query = ProviderQueryConnector()


def _hetu(value: str) -> str:
    system, _, code = value.rpartition("|")
    if system and system != HETU_SYSTEM:
        raise ConnectorError(f"unknown patient identifier system {system!r}", permanent=True)
    return code


def provider_query(
    *,
    subject_id: UUID,
    recipient: Recipient,
    consent_lineage: UUID,
    resource_types: Sequence[str] | None,
    requested_by: str,
    patient_identifier: str | None = None,
    purpose: str = "",
    granted_categories: frozenset[str] | None = None,
    granted_actions: frozenset[str] | None = None,
) -> QueryResult:
    """Answer a provider's query from Kanta, filtered by the consent the token is bound to
    and by what the token itself was granted.

    Without `patient_identifier` the subject is named by their personal identity code, looked
    up once and only after a permit. Run it inside the caller's transaction to hold the
    decision, the search and the delivery entry together (see ``decide_and_log``)."""
    now = timezone.now()
    if resource_types is not None:
        unknown = sorted(
            set(resource_types) - set(types_for_categories(categories_for_types(None)))
        )
        if unknown or not resource_types:
            raise ConnectorError(f"resource types not served: {unknown or 'none asked'}", True)
    hetu = _hetu(patient_identifier) if patient_identifier is not None else None
    if hetu is not None and hetu != personal_identity_code(subject_id):
        # The identifier must name the consent's subject: a token never reaches another person.
        raise ConnectorError("the patient identifier does not belong to the subject", True)
    wanted = categories_for_types(resource_types)
    request = DecisionRequest(
        subject_id=subject_id,
        flow=Flow.PROVIDER_ACCESS,
        recipient=recipient,
        at=now,
        purpose=purpose,
        data_categories=wanted,
        consent_lineage=consent_lineage,
        granted_categories=granted_categories,
        granted_actions=granted_actions,
    )
    decision = _query.decide(request, requested_by=requested_by)
    if not decision.permit:
        return QueryResult(decision, None)
    permitted = decision.permitted_categories
    types = [
        t for t in types_for_categories(permitted) if resource_types is None or t in resource_types
    ]
    client = kanta_client()
    found: list[dict[str, Any]] = []
    org = recipient.organisation or recipient.kind
    try:
        if hetu is None:
            hetu = personal_identity_code(subject_id)
        for resource_type in types:
            found.extend(
                r
                for r in client.search_patient(resource_type, hetu)
                if resource_category(r) in permitted
            )
        broken = [i.message for r in found for i in fhir_issues(r)]
        if broken:  # forward nothing that breaks a required FHIR binding
            raise ConnectorError(
                "Kanta answered with non-conforming FHIR: " + "; ".join(broken), True
            )
    except ConnectorError as exc:
        _query.record_failed(
            subject_id=subject_id, decision=decision, recipient=org, error=exc, at=now
        )
        raise
    counts: dict[str, int] = {}
    for resource in found:
        counts[resource["resourceType"]] = counts.get(resource["resourceType"], 0) + 1
    _query.record_delivered(
        subject_id=subject_id,
        decision=decision,
        delivery=Delivery(org, {"source": KANTA, "resources": counts}),
        at=now,
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": [
            {
                "fullUrl": f"urn:tahto:kanta:{r['resourceType']}/{r.get('id')}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in found
        ],
    }
    return QueryResult(decision, bundle)
