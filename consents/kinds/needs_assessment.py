"""Unsolicited service-need assessment: may a provider propose services or self-care to the
citizen, about which areas of life and through which channels, without a care relationship.
Providers never learn who declined."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from .. import fhir_parts as F
from ..decisions import Flow, Reason
from ..errors import invalid
from .base import (
    ConsentKind,
    DecisionRequest,
    Match,
    Party,
    ReceiptPurpose,
    Recipient,
    Scope,
    names_only,
    party_names,
)


class NeedsAssessment(ConsentKind):
    code = "needs-assessment"
    label = _("Unsolicited service-need assessment")
    description = _(
        "Whether a wellbeing county or provider may assess your need for services and "
        "suggest services to you, although you have not contacted them."
    )
    schema = "consent-kinds/needs-assessment.v1"
    flows = frozenset({Flow.NEEDS_ASSESSMENT})
    national = True
    receipt_service = {
        "fi": "Palvelutarpeen arviointi ja palveluohjaus ilman hoito- tai palvelusuhdetta",
        "sv": "Bedömning av servicebehov och servicehänvisning utan vård- eller klientrelation",
        "en": "Unsolicited service-need assessment and service guidance",
    }

    def covers_recipient(self, scope: Scope, recipient: Recipient) -> bool:
        return any(party_names(s, recipient) for s in scope.get("senders", []))

    def match(self, scope: Scope, request: DecisionRequest, *, used_today: int) -> Match:
        if request.channel not in scope.get("channels", []):
            return Match(Reason.CHANNEL)
        if request.life_area not in scope.get("lifeAreas", []):
            return Match(Reason.LIFE_AREA)
        return Match(Reason.PERMITTED)

    def organisations(self, scope: Scope) -> list[Party]:
        return [s for s in scope.get("senders") or [] if isinstance(s, dict)]

    def fhir_provision(self, provision: dict[str, Any], scope: Scope, provision_type: str) -> None:
        # The senders carry out the assessment: role PRF (performer).
        provision["actor"] = [
            F.actor("PRF", sender)
            for sender in scope.get("senders") or []
            if isinstance(sender, dict)
        ]
        provision["action"] = F.actions(["use"])
        provision["purpose"] = F.purposes(["service-need-assessment"])
        provision["code"] = [
            F.concept(F.LIFE_AREA_SYSTEM, str(a)) for a in scope.get("lifeAreas") or []
        ]
        provision["extension"] = [
            {"url": F.EXT_CONTACT_CHANNEL, "valueCode": str(channel)}
            for channel in scope.get("channels") or []
        ]

    def receipt_purposes(self, scope: Scope) -> list[ReceiptPurpose]:
        # Tahto picks the recipients of a proposal by age and municipality; the senders never
        # learn who was reached or who declined, so nothing is disclosed to them.
        return [
            ReceiptPurpose(
                "service-need-assessment", primary=True, disclosed=False, pii=("demographics",)
            )
        ]

    def check_requester(self, scope: Scope, organisation: str) -> None:
        senders = scope.get("senders", [])
        if not senders or not all(names_only(s, organisation) for s in senders):
            raise invalid("/scope/senders", "The only sender must be your own organisation.")
