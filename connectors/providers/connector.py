"""The provider connector: permitted data to a provider's FHIR endpoint; signed notifications.

* ``ProviderFhirConnector`` (outbox ``provider.fhir``): self-produced data the citizen chose
  to share, pushed to the provider's registered FHIR endpoint under the same checks as Kanta
  PHR (decided again at sending, narrowed to what is permitted then).
* ``WebhookConnector`` (outbox ``provider.webhook``): every consent change (``events``) told
  to each active webhook of the organisations the consent concerns (its recipients, senders,
  biobank and requester), signed (``signing.py``), metadata only (``notification``): id,
  lineage, version, kind, status, event and time. It carries no data, so it needs no decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from consents.events import EventType
from consents.policy import Decision, DecisionRequest, Flow, Recipient

from ..base import ConnectorError, Delivery, LogEvent, OutboxConnector, OutboxRequest
from ..fhir.client import FhirClient
from ..fhir.push import FhirPushConnector
from ..http import request_json
from ..models import Endpoint, OutboxItem
from .signing import SIGNATURE_HEADER, notification_body, notification_sign


def _endpoint(item: OutboxItem, kind: str) -> Endpoint:
    endpoint_id = str((item.payload or {}).get("endpoint") or "")
    endpoint = Endpoint.objects.filter(id=endpoint_id, kind=kind).first() if endpoint_id else None
    if endpoint is None or not endpoint.active:
        raise ConnectorError(f"the provider's {kind} endpoint is gone or inactive", True)
    return endpoint


class ProviderFhirConnector(FhirPushConnector):
    name = "provider.fhir"
    flow = Flow.PROVIDER_PUSH

    def recipient(self, item: OutboxItem) -> Recipient:
        return Recipient(organisation=str((item.payload or {}).get("organisation") or ""))

    def client(self, item: OutboxItem) -> FhirClient:
        return FhirClient(_endpoint(item, Endpoint.Kind.FHIR).url)

    def recipient_name(self, item: OutboxItem) -> str:
        return str((item.payload or {}).get("organisation") or "")


def notification(event: LogEvent) -> dict[str, Any]:
    """What a provider is told about a consent change: metadata only, never health data."""
    entry, consent = event.entry, event.consent
    return {
        "event": entry.event_type,
        "logSeq": entry.seq,
        "time": event.body["time"],
        "consent": {
            "id": consent.get("id"),
            "lineage": consent.get("lineage"),
            "version": consent.get("version"),
            "kind": consent.get("kind"),
            "status": consent.get("status"),
        },
    }


class WebhookConnector(OutboxConnector):
    name = "provider.webhook"
    #: Consent events providers hear about (a superseded version is told by its "changed").
    events = frozenset(
        e for e in EventType if e.value.startswith("consent.") and e != EventType.CONSENT_SUPERSEDED
    )

    def outbox_items(self, event: LogEvent) -> Sequence[OutboxRequest]:
        endpoints = Endpoint.objects.filter(
            kind=Endpoint.Kind.WEBHOOK, active=True, organisation_id__in=event.organisations
        ).order_by("organisation_id", "url")
        told = notification(event)
        return [
            OutboxRequest({"endpoint": str(endpoint.id), "notification": told}, str(endpoint.id))
            for endpoint in endpoints
        ]

    def decision_request(self, item: OutboxItem, at: datetime) -> DecisionRequest | None:
        return None  # consent metadata to the party the consent concerns: no data moves

    def send(self, item: OutboxItem, decision: Decision | None) -> Delivery:
        endpoint = _endpoint(item, Endpoint.Kind.WEBHOOK)
        notification = (item.payload or {}).get("notification") or {}
        body = notification_body(notification)
        request_json(
            "POST",
            endpoint.url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "Accept": "*/*",
                SIGNATURE_HEADER: notification_sign(body),
            },
            expect_json=False,
        )
        return Delivery(
            endpoint.organisation_id,
            {"event": notification.get("event"), "logSeq": notification.get("logSeq")},
        )
