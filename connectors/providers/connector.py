"""The provider connector: permitted data to a provider's FHIR endpoint; signed notifications.

* ``ProviderFhirConnector`` (outbox ``provider.fhir``): self-produced data the citizen chose
  to share, pushed to the provider's registered FHIR endpoint under the same checks as Kanta
  PHR (decided again at sending, narrowed to what is permitted then).
* ``WebhookConnector`` (outbox ``provider.webhook``): a consent change told to the provider's
  webhook, signed (``signing.py``), metadata only; it carries no data, so it needs no decision.
  Its URL is checked again before sending (``destinations.py``: https, public addresses only);
  a refused URL parks the item with the reason and nothing is sent.
"""

from __future__ import annotations

from datetime import datetime

from consents.policy import Decision, DecisionRequest, Flow, Recipient

from ..base import ConnectorError, Delivery, OutboxConnector, register
from ..http import request_json
from ..kanta.client import FhirClient
from ..kanta.phr import FhirPushConnector
from ..models import Endpoint, OutboxItem
from .destinations import UnsafeDestination, destination_check, guarded_session
from .signing import SIGNATURE_HEADER, notification_body, notification_sign


def _endpoint(item: OutboxItem, kind: str) -> Endpoint:
    endpoint_id = str((item.payload or {}).get("endpoint") or "")
    endpoint = Endpoint.objects.filter(id=endpoint_id, kind=kind).first() if endpoint_id else None
    if endpoint is None or not endpoint.active:
        raise ConnectorError(f"the provider's {kind} endpoint is gone or inactive", True)
    return endpoint


@register
class ProviderFhirConnector(FhirPushConnector):
    name = "provider.fhir"
    flow = Flow.PROVIDER_PUSH

    def recipient(self, item: OutboxItem) -> Recipient:
        return Recipient(organisation=str((item.payload or {}).get("organisation") or ""))

    def client(self, item: OutboxItem) -> FhirClient:
        return FhirClient(_endpoint(item, Endpoint.Kind.FHIR).url)

    def recipient_name(self, item: OutboxItem) -> str:
        return str((item.payload or {}).get("organisation") or "")


@register
class WebhookConnector(OutboxConnector):
    name = "provider.webhook"

    def decision_request(self, item: OutboxItem, at: datetime) -> DecisionRequest | None:
        return None  # consent metadata to the party the consent concerns: no data moves

    def send(self, item: OutboxItem, decision: Decision | None) -> Delivery:
        endpoint = _endpoint(item, Endpoint.Kind.WEBHOOK)
        try:
            destination_check(endpoint.url)
        except UnsafeDestination as exc:
            raise ConnectorError(f"webhook URL refused: {exc}", permanent=True) from None
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
            session=guarded_session(),
        )
        return Delivery(
            endpoint.organisation_id,
            {"event": notification.get("event"), "logSeq": notification.get("logSeq")},
        )
