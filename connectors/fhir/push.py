"""Pushing marked self-produced resources to a FHIR server, each stored at most once.

A counterpart that receives such data (Kanta PHR, a provider's FHIR endpoint) subclasses
``FhirPushConnector`` and says where the data goes (``recipient``, ``client``,
``recipient_name``) and under which flow. Each resource carries our identifier
(``record_system()``), so the server's conditional create makes a resend harmless.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import ClassVar

from django.conf import settings

from consents.fhir_terminology import FhirConformanceError, fhir_check
from consents.policy import Decision, DecisionRequest, Flow, Recipient

from ..base import ConnectorError, Delivery, OutboxConnector
from ..categories import resource_category
from ..models import OutboxItem
from ..subjects import patient_reference
from .client import FhirClient


def record_system() -> str:
    """The identifier system of the resources we send: `<submission>/<index>` values."""
    return f"{settings.TAHTO_PUBLIC_URL}/id/wellbeing-record"


class FhirPushConnector(OutboxConnector):
    """Pushes marked self-produced resources to a FHIR server, each stored at most once."""

    flow: ClassVar[Flow]

    @abstractmethod
    def recipient(self, item: OutboxItem) -> Recipient:
        """Who receives the item's data, as the decision point names it."""

    @abstractmethod
    def client(self, item: OutboxItem) -> FhirClient:
        """The FHIR server the item's data goes to."""

    @abstractmethod
    def recipient_name(self, item: OutboxItem) -> str:
        """The recipient as the log names it in `flow.delivered`."""

    def decision_request(self, item: OutboxItem, at: datetime) -> DecisionRequest | None:
        payload = item.payload or {}
        if item.subject_id is None or "resources" not in payload:
            raise ConnectorError(f"outbox item {item.key} has no subject or no data", True)
        return DecisionRequest(
            subject_id=item.subject_id,
            flow=self.flow,
            recipient=self.recipient(item),
            at=at,
            source=str(payload.get("source") or ""),
            data_categories=frozenset(payload.get("categories") or []),
            consent_lineage=item.consent_lineage,
        )

    def send(self, item: OutboxItem, decision: Decision | None) -> Delivery:
        assert decision is not None and item.subject_id is not None
        payload = item.payload or {}
        client = self.client(item)
        patient = patient_reference(item.subject_id)
        outgoing = [
            {**resource, "subject": patient}
            for resource in payload.get("resources") or []
            # narrowed since it was queued: only what is permitted now moves
            if resource_category(resource) in decision.permitted_categories
        ]
        try:  # nothing leaves that breaks a required binding or profile, not even in part
            for out in outgoing:
                fhir_check(out)
        except FhirConformanceError as exc:
            raise ConnectorError(f"outbox item {item.key}: {exc}", True) from exc
        sent: dict[str, int] = {}
        for out in outgoing:
            idents = (
                out["identifier"] if isinstance(out["identifier"], list) else [out["identifier"]]
            )
            ours = next(i for i in idents if i.get("system") == record_system())
            client.create(out, identifier=f"{ours['system']}|{ours['value']}")
            sent[out["resourceType"]] = sent.get(out["resourceType"], 0) + 1
        return Delivery(self.recipient_name(item), {"resources": sent})
