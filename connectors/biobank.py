"""Biobank research requests: only donors whose consent matches the DUO codes are released.

Each donor is decided on separately (``Flow.RESEARCH`` with the request's DUO purpose,
declarations and categories); a permitted donor is released as a pseudonym that is stable for
that biobank and unlinkable across biobanks, with the categories their consent permits. A
withdrawn consent denies at once, so a withdrawal stops every later use.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone

import schemas
from consents.errors import not_permitted
from consents.policy import DecisionRequest, Flow, Recipient

from .base import Connector, Delivery

REQUEST_SCHEMA = "requests/research-request.v1"


@dataclass(frozen=True)
class ReleasedDonor:
    pseudonym: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class ResearchResult:
    requested: int
    released: list[ReleasedDonor] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return len(self.released)


class BiobankConnector(Connector):
    name = "biobank"


_biobank = BiobankConnector()


def donor_pseudonym(*, biobank: str, subject_id: UUID) -> str:
    """HMAC of the donor for this biobank: stable for it, unlinkable across biobanks."""
    key = hashlib.sha256(f"tahto-biobank-pseudonym:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{biobank}:{subject_id}".encode(), hashlib.sha256).hexdigest()[:32]


def research_request(
    *, biobank: Recipient, request: dict[str, Any], donors: Iterable[UUID]
) -> ResearchResult:
    """Release the donors whose biobank consent covers this research request."""
    schemas.validate(REQUEST_SCHEMA, request, prefix="")
    if request.get("biobank", biobank.organisation) != biobank.organisation:
        raise not_permitted("A biobank may ask only for its own donors.")
    now = timezone.now()
    requested = 0
    released: list[ReleasedDonor] = []
    for subject_id in dict.fromkeys(donors):
        requested += 1
        decision = _biobank.decide(
            DecisionRequest(
                subject_id=subject_id,
                flow=Flow.RESEARCH,
                recipient=biobank,
                at=now,
                research=request,
                data_categories=frozenset(request["dataCategories"]),
            ),
            requested_by=biobank.organisation,
        )
        if not decision.permit:
            continue
        categories = tuple(sorted(decision.permitted_categories))
        _biobank.record_delivered(
            subject_id=subject_id,
            decision=decision,
            delivery=Delivery(biobank.organisation, {"categories": list(categories)}),
            at=now,
        )
        released.append(
            ReleasedDonor(
                donor_pseudonym(biobank=biobank.organisation, subject_id=subject_id), categories
            )
        )
    return ResearchResult(requested=requested, released=released)
