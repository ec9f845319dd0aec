"""Self-produced wellbeing data: measurements from the citizen's own applications and devices,
stored in Kanta PHR (Omatietovaranto) and shared with providers the citizen chooses; the data's
source is always marked."""

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
    Party,
    ReceiptPurpose,
    Recipient,
    Scope,
    names_only,
    party_names,
)

#: Self-produced data categories, as the schemas publish them.
SELF_PRODUCED = frozenset(schemas.codes("selfProducedCategory"))


class WellbeingSharing(ConsentKind):
    code = "wellbeing-sharing"
    label = _("Sharing of self-produced wellbeing data")
    description = _(
        "Whether measurements from your own apps and devices are stored in MyKanta's "
        "personal health record and shared with providers you choose."
    )
    schema = "consent-kinds/wellbeing-sharing.v1"
    flows = frozenset({Flow.PROVIDER_ACCESS, Flow.PROVIDER_PUSH, Flow.PHR_STORE})
    token_bound = True
    kanta_phr = True
    receipt_service = {
        "fi": "Omien hyvinvointitietojen tallennus ja jakaminen",
        "sv": "Lagring och delning av egna välbefinnandeuppgifter",
        "en": "Storing and sharing self-produced wellbeing data",
    }

    def answers(self, request: DecisionRequest) -> bool:
        if request.flow == Flow.PROVIDER_ACCESS:
            # A provider's fetch is governed here only for self-produced data.
            wanted = request.data_categories
            return bool(wanted) and wanted <= SELF_PRODUCED
        return request.flow in self.flows

    def covers_recipient(self, scope: Scope, recipient: Recipient) -> bool:
        for target in scope.get("targets", []):
            if target.get("type") == "kanta-phr" and recipient.kanta_phr:
                return True
            if target.get("type") == "provider" and party_names(target.get("recipient"), recipient):
                return True
        return False

    def match(self, scope: Scope, request: DecisionRequest, *, used_today: int) -> Match:
        sources = {s.get("application") for s in scope.get("sources", [])}
        if request.flow in (Flow.PHR_STORE, Flow.PROVIDER_PUSH) and request.source not in sources:
            return Match(Reason.SOURCE)
        granted = frozenset(scope.get("dataCategories", [])) & request.data_categories
        if not granted:
            return Match(Reason.CATEGORIES)
        return Match(Reason.PERMITTED, granted)

    def organisations(self, scope: Scope) -> list[Party]:
        return [
            t["recipient"]
            for t in scope.get("targets") or []
            if isinstance(t, dict) and isinstance(t.get("recipient"), dict)
        ]

    def fhir_provision(self, provision: dict[str, Any], scope: Scope, provision_type: str) -> None:
        actors: list[dict[str, Any]] = []
        targets = [t for t in scope.get("targets") or [] if isinstance(t, dict)]
        for target in targets:
            if target.get("type") == "provider" and isinstance(target.get("recipient"), dict):
                actors.append(F.actor("IRCP", target["recipient"]))
            elif target.get("type") == "kanta-phr":
                reference: dict[str, Any] = {
                    "type": "Organization",
                    "display": "Kanta PHR (Omatietovaranto)",
                    "extension": [{"url": F.EXT_TARGET_TYPE, "valueCode": "kanta-phr"}],
                }
                actors.append({"role": F.role("IRCP"), "reference": reference})
        for source in scope.get("sources") or []:
            if isinstance(source, dict) and source.get("application"):
                reference = {
                    "type": "Device",
                    "identifier": {
                        "system": f"{settings.TAHTO_PUBLIC_URL}/id/application",
                        "value": str(source["application"]),
                    },
                    "display": str(source.get("name") or source["application"]),
                }
                actors.append({"role": F.role("AUT"), "reference": reference})
        provision["actor"] = actors
        to_provider = any(t.get("type") == "provider" for t in targets)
        provision["action"] = F.actions(["collect", "disclose"] if to_provider else ["collect"])
        provision["purpose"] = F.purposes(["self-care-support", *(["care"] if to_provider else [])])

    def receipt_purposes(self, scope: Scope) -> list[ReceiptPurpose]:
        targets = [t for t in scope.get("targets") or [] if isinstance(t, dict)]
        purposes = [ReceiptPurpose("self-care-support", primary=True, disclosed=bool(targets))]
        if any(t.get("type") == "provider" for t in targets):
            purposes.append(ReceiptPurpose("care", primary=False, disclosed=True))
        return purposes

    def check_requester(self, scope: Scope, organisation: str) -> None:
        for i, target in enumerate(scope.get("targets", [])):
            if target.get("type") == "provider" and not names_only(
                target.get("recipient"), organisation
            ):
                raise invalid(
                    f"/scope/targets/{i}/recipient",
                    "A provider target must be your own organisation (OID).",
                )
