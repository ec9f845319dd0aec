"""Unsolicited needs-assessment offers: delivered only where the citizen's consent covers it.

A provider or wellbeing county proposes a service (e.g. a virtual health check) to a target
group. For each candidate the decision point decides (sender, channel and life area against
the needs-assessment consent); the offer is stored for the permitted ones only (the dashboard
shows them), and the sender learns aggregate counts alone: never who received it, who
declined or who has no consent. Counts below ``K_ANONYMITY`` are reported as "<5".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

import schemas
from consents.errors import not_permitted
from consents.policy import DecisionRequest, Flow, Recipient

from .base import Connector, Delivery
from .models import OfferDelivery

OFFER_SCHEMA = "requests/needs-assessment-offer.v1"
K_ANONYMITY = 5


def small_count(n: int) -> int | str:
    """A count as the sender may see it: below K_ANONYMITY (but not 0) it is "<5"."""
    return f"<{K_ANONYMITY}" if 0 < n < K_ANONYMITY else n


@dataclass(frozen=True)
class OfferResult:
    targeted: int
    delivered: int

    def public(self) -> dict[str, Any]:
        """What the sender is told: k-anonymous counts, nothing about any one person."""
        return {"targeted": small_count(self.targeted), "delivered": small_count(self.delivered)}


class OfferConnector(Connector):
    name = "offers"


_offers = OfferConnector()


def offer_submit(
    *, sender: Recipient, offer: dict[str, Any], candidates: Iterable[UUID]
) -> OfferResult:
    """Deliver an offer to the candidates whose needs-assessment consent permits it."""
    schemas.validate(OFFER_SCHEMA, offer, prefix="")
    if offer["sender"] != sender.organisation:
        raise not_permitted("An offer may be sent only in the sender's own name.")
    now = timezone.now()
    targeted = delivered = 0
    for subject_id in dict.fromkeys(candidates):  # each person once
        targeted += 1
        with transaction.atomic():
            decision = _offers.decide(
                DecisionRequest(
                    subject_id=subject_id,
                    flow=Flow.NEEDS_ASSESSMENT,
                    recipient=sender,
                    at=now,
                    channel=offer["channel"],
                    life_area=offer["lifeArea"],
                ),
                requested_by=sender.organisation,
            )
            if not decision.permit:
                continue
            assert decision.consent_lineage is not None and decision.log_entry_id is not None
            OfferDelivery.objects.create(
                subject_id=subject_id,
                sender=sender.organisation,
                consent_lineage=decision.consent_lineage,
                log_seq=decision.log_entry_id,
                life_area=offer["lifeArea"],
                channel=offer["channel"],
                title=offer["title"],
                body=offer["body"],
                delivered_at=now,
            )
            _offers.record_delivered(
                subject_id=subject_id,
                decision=decision,
                delivery=Delivery(sender.organisation, {"channel": offer["channel"]}),
                at=now,
            )
            delivered += 1
    return OfferResult(targeted=targeted, delivered=delivered)


def offers_for_subject(*, subject_id: UUID) -> list[OfferDelivery]:
    """The offers delivered to a citizen, newest first (for the dashboard)."""
    return list(OfferDelivery.objects.filter(subject_id=subject_id).order_by("-delivered_at"))
