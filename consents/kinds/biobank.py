"""Biobank consent: a biobank may store samples and data and use them for research whose
GA4GH Data Use Ontology (DUO) codes the consent covers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from .. import fhir_parts as F
from ..decisions import Flow, Reason
from ..duo import covered_categories, duo_match
from ..errors import invalid
from .base import (
    ConsentKind,
    DecisionRequest,
    Match,
    ReceiptPurpose,
    Scope,
    names_only,
)


class Biobank(ConsentKind):
    code = "biobank"
    label = _("Biobank consent")
    description = _("Whether a biobank may store your samples and data and use them for research.")
    schema = "consent-kinds/biobank.v1"
    flows = frozenset({Flow.RESEARCH})
    national = True
    fhir_scope = ("research", "Research")
    receipt_service = {
        "fi": "Biopankkisuostumus",
        "sv": "Biobankssamtycke",
        "en": "Biobank consent",
    }
    recipient_key = "biobank"

    def match(self, scope: Scope, request: DecisionRequest, *, used_today: int) -> Match:
        wanted = request.data_categories
        result = duo_match(scope, dict(request.research or {}), at=request.at)
        if not result.ok:
            return Match(Reason.DUO, detail=result.detail, detail_code=result.code)
        granted = covered_categories(scope) & wanted
        if wanted and not granted:
            return Match(Reason.CATEGORIES)
        return Match(Reason.PERMITTED, granted, detail=result.detail, detail_code=result.code)

    def fhir_provision(self, provision: dict[str, Any], scope: Scope, provision_type: str) -> None:
        if isinstance(scope.get("biobank"), dict):
            provision["actor"] = [F.actor("IRCP", scope["biobank"])]
        samples = scope.get("samples") or {}
        linking = scope.get("registerLinking") or {}
        actions = ["collect"] if samples.get("collect") or linking.get("allowed") else []
        provision["action"] = F.actions([*actions, "use", "disclose"])
        provision["purpose"] = F.purposes(["research"])

        permission = scope.get("permission") or {}
        codes = [permission.get("code"), *(scope.get("modifiers") or [])]
        provision["code"] = [F.duo_concept(code) for code in codes if code]

        nested: dict[str, Any] = {"type": provision_type}
        if permission.get("code") == "DS" and permission.get("disease"):
            nested["code"] = [F.concept(F.ICD10_SYSTEM, str(permission["disease"]))]
        restrictions = scope.get("restrictions") or {}
        institutions = [{"organisation": oid} for oid in restrictions.get("institutions") or []]
        if institutions:
            nested["actor"] = [F.actor("IRCP", org) for org in institutions]
        projects = restrictions.get("projects") or []
        if projects:
            nested.setdefault("code", []).extend(
                F.concept(F.RESEARCH_PROJECT_SYSTEM, str(p)) for p in projects
            )
        if restrictions.get("until"):
            nested["period"] = {"end": F.fhir_datetime(restrictions["until"])}
        if restrictions.get("moratoriumUntil"):
            nested["extension"] = [
                {
                    "url": F.EXT_MORATORIUM_UNTIL,
                    "valueDateTime": F.fhir_datetime(restrictions["moratoriumUntil"]),
                }
            ]
        if len(nested) > 1:
            provision["provision"] = [nested]

    def receipt_purposes(self, scope: Scope) -> list[ReceiptPurpose]:
        return [ReceiptPurpose("research", primary=True, disclosed=True)]

    def check_requester(self, scope: Scope, organisation: str) -> None:
        if not names_only(scope.get("biobank"), organisation):
            raise invalid("/scope/biobank", "The biobank must be your own organisation (OID).")
