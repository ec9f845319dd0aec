"""Data sharing to providers: which provider (or kind of provider) may receive which
categories of the citizen's data, for which purpose, how often, from when to when."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

import schemas

from .. import fhir_parts as F
from ..decisions import Flow, Reason
from ..errors import invalid
from .base import (
    ConsentKind,
    DecisionRequest,
    Match,
    ReceiptPurpose,
    Scope,
    names_only,
)


class ProviderSharing(ConsentKind):
    code = "provider-sharing"
    label = _("Data sharing to providers")
    description = _(
        "Which care provider may see which of your data, for what purpose and for how long."
    )
    schema = "consent-kinds/provider-sharing.v1"
    flows = frozenset({Flow.PROVIDER_ACCESS})
    national = True
    token_bound = True
    receipt_service = {
        "fi": "Tietojen luovutus palveluntuottajille",
        "sv": "Utlämnande av uppgifter till tjänsteproducenter",
        "en": "Data sharing to providers",
    }
    recipient_key = "recipient"

    def match(self, scope: Scope, request: DecisionRequest, *, used_today: int) -> Match:
        if request.flow != Flow.PROVIDER_ACCESS:
            return Match(Reason.NO_CONSENT)
        if request.purpose and scope.get("purpose") != request.purpose:
            return Match(Reason.PURPOSE)
        granted = frozenset(scope.get("dataCategories", [])) & request.data_categories
        if not granted:
            return Match(Reason.CATEGORIES)
        limit = self.daily_limit(scope)
        if limit is not None and used_today >= limit:
            return Match(Reason.FREQUENCY)
        return Match(Reason.PERMITTED, granted)

    def daily_limit(self, scope: Scope) -> int | None:
        """The scope's `frequencyPerDay`; omitted, the operator's default limit (as the
        kind's schema says), `TAHTO_DEFAULT_FREQUENCY_PER_DAY` (0: no default limit)."""
        limit = scope.get("frequencyPerDay")
        if isinstance(limit, int):
            return limit
        default = int(getattr(settings, "TAHTO_DEFAULT_FREQUENCY_PER_DAY", 0))
        return default if default > 0 else None

    def fhir_provision(self, provision: dict[str, Any], scope: Scope, provision_type: str) -> None:
        if isinstance(scope.get("recipient"), dict):
            provision["actor"] = [F.actor("IRCP", scope["recipient"])]
        provision["action"] = F.actions(["access", "disclose"])
        purpose = scope.get("purpose")
        provision["purpose"] = F.purposes([str(purpose)] if purpose in F.PURPOSE_OF_USE else [])
        if isinstance(scope.get("frequencyPerDay"), int):
            provision["extension"] = [
                {"url": F.EXT_FREQUENCY_PER_DAY, "valuePositiveInt": scope["frequencyPerDay"]}
            ]

    def receipt_purposes(self, scope: Scope) -> list[ReceiptPurpose]:
        purpose = scope.get("purpose")
        code = str(purpose) if purpose in schemas.codes("purpose") else "care"
        return [ReceiptPurpose(code, primary=True, disclosed=True)]

    def check_requester(self, scope: Scope, organisation: str) -> None:
        if not names_only(scope.get("recipient"), organisation):
            raise invalid("/scope/recipient", "The recipient must be your own organisation (OID).")
