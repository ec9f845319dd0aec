"""Kanta PHR: self-produced wellbeing data checked, marked, and stored in Kanta PHR.

``wellbeing_validate`` checks a submission: every resource is validated with fhir.resources
first (errors name the resource and the field as JSON pointers, and nothing is written if any
is invalid); ``_marked`` marks each with its source (``meta.source``, a source tag, its data
category and the PHR profile) and gives it an identifier that makes resending harmless.
``KantaPhrConnector`` (outbox ``kanta.phr``) stores permitted resources in Kanta PHR. Routing
a submission to Kanta PHR and to providers is ``connectors.wellbeing.wellbeing_submit``.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import quote
from uuid import UUID

from django.conf import settings
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

import schemas
from consents.fhir import DATA_CATEGORY_SYSTEM
from consents.fhir_terminology import fhir_issues
from consents.policy import Flow, Recipient

from ..categories import PHR_PROFILE_BASE, is_wellbeing, resource_category
from ..fhir.client import FhirClient
from ..fhir.push import FhirPushConnector, record_system
from ..models import OutboxItem
from .client import kanta_client

ACCEPTED_TYPES = ("Observation", "QuestionnaireResponse")
MAX_RESOURCES = 100
KANTA_PHR = "kanta-phr"


def application_system() -> str:
    return f"{settings.TAHTO_PUBLIC_URL}/id/application"


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


# --- Sending --------------------------------------------------------------------------------


class KantaPhrConnector(FhirPushConnector):
    """Self-produced data into Kanta PHR (outbox ``kanta.phr``), under ``Flow.PHR_STORE``."""

    name = "kanta.phr"
    flow = Flow.PHR_STORE

    def recipient(self, item: OutboxItem) -> Recipient:
        return Recipient(kanta_phr=True)

    def client(self, item: OutboxItem) -> FhirClient:
        return kanta_client()

    def recipient_name(self, item: OutboxItem) -> str:
        return KANTA_PHR
