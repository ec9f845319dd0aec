"""Self-produced wellbeing data into Kanta PHR (and to chosen providers), only under consent.

``wellbeing_submit`` is what the provider API calls when a wellbeing app sends measurements:
every resource is validated with fhir.resources first (errors name the resource and the field
as JSON pointers, and nothing is written if any is invalid); each is marked with its source
(``meta.source``, a source tag, its data category and the PHR profile) and given an
identifier that makes resending harmless. Then, for Kanta PHR and for each provider the
citizen's wellbeing-sharing consents name, the decision point decides, and an outbox item is
written for every permitted target, in the same transaction as those decisions. The
subject's personal identity code is added only at the moment of sending.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

import schemas
from consents.fhir import DATA_CATEGORY_SYSTEM
from consents.fhir_terminology import FhirConformanceError, fhir_check, fhir_issues
from consents.kinds import kind_spec, kinds_answering
from consents.models import Consent
from consents.policy import Decision, DecisionRequest, Flow, Recipient
from consents.states import Status

from ..base import Connector, ConnectorError, Delivery, OutboxConnector, register
from ..categories import PHR_PROFILE_BASE, is_wellbeing, resource_category
from ..models import Endpoint, OutboxItem
from ..outbox import outbox_enqueue
from ..subjects import patient_reference
from .client import FhirClient

ACCEPTED_TYPES = ("Observation", "QuestionnaireResponse")
MAX_RESOURCES = 100
KANTA_PHR = "kanta-phr"


def application_system() -> str:
    return f"{settings.TAHTO_PUBLIC_URL}/id/application"


def record_system() -> str:
    return f"{settings.TAHTO_PUBLIC_URL}/id/wellbeing-record"


# --- Validation -----------------------------------------------------------------------------


def _issue(pointer: str, message: str, keyword: str) -> schemas.ValidationIssue:
    return {"pointer": pointer, "message": message, "keyword": keyword}


def _fhir_issues(resource: dict[str, Any], pointer: str) -> list[schemas.ValidationIssue]:
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        return [
            _issue(
                pointer + "".join(f"/{p}" for p in e["loc"] if not str(p).startswith("function")),
                f"Not valid FHIR R4: {e['msg']}",
                "fhir",
            )
            for e in exc.errors()
        ]
    return []


def _conformance_issues(resource: dict[str, Any], pointer: str) -> list[schemas.ValidationIssue]:
    """Required bindings and claimed PHR profiles (consents.fhir_terminology), as issues."""
    return [_issue(pointer + i.pointer, i.message, "fhir-binding") for i in fhir_issues(resource)]


def wellbeing_validate(resources: Any) -> list[str]:
    """Check a submission; return each resource's data category, or raise with every error."""
    if not isinstance(resources, list) or not resources:
        raise schemas.SchemaValidationError(
            [_issue("/resources", "Send a non-empty list of FHIR resources.", "minItems")]
        )
    if len(resources) > MAX_RESOURCES:
        raise schemas.SchemaValidationError(
            [_issue("/resources", f"Send at most {MAX_RESOURCES} resources at once.", "maxItems")]
        )
    issues: list[schemas.ValidationIssue] = []
    categories: list[str] = []
    for index, resource in enumerate(resources):
        pointer = f"/resources/{index}"
        if not isinstance(resource, dict) or resource.get("resourceType") not in ACCEPTED_TYPES:
            issues.append(
                _issue(
                    f"{pointer}/resourceType",
                    f"Self-produced data is sent as one of {', '.join(ACCEPTED_TYPES)}.",
                    "enum",
                )
            )
            categories.append("")
            continue
        found = _fhir_issues(resource, pointer) or _conformance_issues(resource, pointer)
        issues.extend(found)
        category = resource_category(resource) or ""
        if not found and not is_wellbeing(category):
            issues.append(
                _issue(
                    f"{pointer}/code"
                    if resource["resourceType"] == "Observation"
                    else f"{pointer}/meta/tag",
                    "Cannot tell which kind of self-produced data this is: use a known LOINC "
                    f"code or tag it with a data category of {DATA_CATEGORY_SYSTEM}.",
                    "category",
                )
            )
        categories.append(category)
    if issues:
        raise schemas.SchemaValidationError(issues)
    return categories


def _marked(
    resource: dict[str, Any], *, index: int, submission: UUID, source: str, category: str
) -> dict[str, Any]:
    """The resource as it travels: its source, category, PHR profile and our identifier."""
    out = copy.deepcopy(resource)
    out.pop("id", None)
    out.pop("subject", None)  # the token binds the subject; the sender does not choose it
    meta = dict(out.get("meta") or {})
    meta["source"] = f"{application_system()}/{quote(source, safe='')}"
    tags = [
        t
        for t in meta.get("tag") or []
        if t.get("system") not in (application_system(), DATA_CATEGORY_SYSTEM)
    ]
    tags.append({"system": application_system(), "code": source})
    tags.append({"system": DATA_CATEGORY_SYSTEM, "code": category})
    meta["tag"] = tags
    if not any(str(p).startswith("http://phr.kanta.fi/") for p in meta.get("profile") or []):
        meta["profile"] = [*(meta.get("profile") or []), PHR_PROFILE_BASE + category]
    out["meta"] = meta
    identifier = {"system": record_system(), "value": f"{submission}/{index}"}
    if out["resourceType"] == "QuestionnaireResponse":
        out["identifier"] = identifier
    else:
        out["identifier"] = [*(out.get("identifier") or []), identifier]
    return out


# --- Submitting -----------------------------------------------------------------------------


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
            connector = _phr if phr else _provider_connector()
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
                log_seq=decision.log_seq,
                now=now,
            )
            results.append(TargetResult(target, decision, len(selected)))
    return SubmitResult(submission, len(resources), results)


# --- Sending --------------------------------------------------------------------------------


class FhirPushConnector(OutboxConnector):
    """Pushes marked self-produced resources to a FHIR server, each stored at most once."""

    flow: Flow = Flow.PHR_STORE

    def recipient(self, item: OutboxItem) -> Recipient:
        return Recipient(kanta_phr=True)

    def client(self, item: OutboxItem) -> FhirClient:
        return FhirClient()

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

    def recipient_name(self, item: OutboxItem) -> str:
        return KANTA_PHR


@register
class KantaPhrConnector(FhirPushConnector):
    name = "kanta.phr"


_phr = KantaPhrConnector()


def _provider_connector() -> Connector:
    from ..base import connector_for

    return connector_for("provider.fhir")
