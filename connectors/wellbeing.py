"""Self-produced wellbeing data routed to every target the citizen's consents permit.

``wellbeing_submit`` is what the provider API calls when a wellbeing app sends measurements:
the submission is checked and marked by Kanta PHR's rules (``connectors.kanta.phr``; nothing is
written if any resource is invalid). Then, for Kanta PHR and for each provider the citizen's
wellbeing-sharing consents name, the decision point decides, and an outbox item is written for
every permitted target (``kanta.phr``, ``provider.fhir``), in the same transaction as those
decisions. The subject's personal identity code is added only at the moment of sending.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

import schemas
from consents.kinds import kind_spec, kinds_answering
from consents.models import Consent
from consents.policy import Decision, DecisionRequest, Flow, Recipient
from consents.states import Status

from .base import OutboxConnector
from .kanta.phr import (
    KANTA_PHR,
    KantaPhrConnector,
    _conformance_issues,
    _marked,
    wellbeing_validate,
)
from .models import Endpoint
from .outbox import outbox_enqueue
from .providers.connector import ProviderFhirConnector

__all__ = ["KANTA_PHR", "SubmitResult", "TargetResult", "wellbeing_submit"]

_phr = KantaPhrConnector()
_provider = ProviderFhirConnector()


@dataclass(frozen=True)
class TargetResult:
    target: str  # "kanta-phr" or the provider's OID
    decision: Decision
    queued: int  # resources written to the outbox for this target
    note: str = ""  # e.g. "no-endpoint": permitted, but the provider has no FHIR endpoint


@dataclass(frozen=True)
class SubmitResult:
    submission_id: UUID
    received: int
    targets: list[TargetResult] = field(default_factory=list)

    @property
    def queued(self) -> int:
        return sum(t.queued for t in self.targets)

    @property
    def permitted(self) -> int:
        return sum(1 for t in self.targets if t.decision.permit)

    @property
    def denied(self) -> int:
        return sum(1 for t in self.targets if not t.decision.permit)


def _targets(subject_id: UUID) -> list[str]:
    targets = [KANTA_PHR]  # always decided, so a missing consent is a logged deny too
    consents = Consent.objects.filter(
        subject_id=subject_id, kind__in=kinds_answering(Flow.PROVIDER_PUSH)
    ).exclude(status=Status.SUPERSEDED)
    for consent in consents.order_by("created_at"):
        for party in kind_spec(consent.kind).organisations(consent.scope):
            org = party.get("organisation")
            if org and org not in targets:
                targets.append(org)
    return targets


def wellbeing_submit(
    *, subject_id: UUID, source_application: str, resources: list[dict[str, Any]]
) -> SubmitResult:
    """Validate, mark and route self-produced data to every target the consents permit."""
    categories = wellbeing_validate(resources)
    submission = uuid.uuid4()
    marked = [
        _marked(r, index=i, submission=submission, source=source_application, category=c)
        for i, (r, c) in enumerate(zip(resources, categories, strict=True))
    ]
    # What will travel must conform too (e.g. a PHR profile the app claimed for other data).
    issues = [
        issue for i, r in enumerate(marked) for issue in _conformance_issues(r, f"/resources/{i}")
    ]
    if issues:
        raise schemas.SchemaValidationError(issues)
    wanted = frozenset(categories)
    now = timezone.now()
    results: list[TargetResult] = []
    with transaction.atomic():
        for target in _targets(subject_id):
            phr = target == KANTA_PHR
            request = DecisionRequest(
                subject_id=subject_id,
                flow=Flow.PHR_STORE if phr else Flow.PROVIDER_PUSH,
                recipient=Recipient(kanta_phr=True) if phr else Recipient(organisation=target),
                at=now,
                source=source_application,
                data_categories=wanted,
            )
            connector: OutboxConnector = _phr if phr else _provider
            decision = connector.decide(request, requested_by=source_application)
            if not decision.permit:
                results.append(TargetResult(target, decision, 0))
                continue
            selected = [
                r
                for r, c in zip(marked, categories, strict=True)
                if c in decision.permitted_categories
            ]
            payload: dict[str, Any] = {
                "source": source_application,
                "categories": sorted(decision.permitted_categories),
                "resources": selected,
            }
            if not phr:
                endpoint = (
                    Endpoint.objects.filter(
                        organisation_id=target, kind=Endpoint.Kind.FHIR, active=True
                    )
                    .order_by("created_at")
                    .first()
                )
                if endpoint is None:
                    results.append(TargetResult(target, decision, 0, "no-endpoint"))
                    continue
                payload["organisation"] = target
                payload["endpoint"] = str(endpoint.id)
            outbox_enqueue(
                connector=connector.name,
                key=f"{connector.name}:{submission}:{target}",
                payload=payload,
                subject_id=subject_id,
                consent_lineage=decision.consent_lineage,
                log_seq=decision.log_entry_id,
                now=now,
            )
            results.append(TargetResult(target, decision, len(selected)))
    return SubmitResult(submission, len(resources), results)
