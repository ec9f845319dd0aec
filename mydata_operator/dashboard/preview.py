"""What a change would permit and deny, asked of the policy decision point.

For a handful of example questions derived from the scope ("may Terveys Oy see your
diagnoses for your care?") we ask consents.policy twice: `decide_preview` for today, and
`decide` over the same consents with the proposed change applied (an unsaved consent in
place of the current one). No rule is evaluated here.
"""

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _

from consents import policy
from consents.models import Consent
from consents.policy import DecisionRequest, Flow, Recipient
from consents.states import Status

from . import labels as L
from .selectors import organisation_name, provider_names


@dataclass
class PreviewRow:
    question: str
    now: bool
    after: bool
    reason_after: str

    @property
    def changes(self) -> bool:
        return self.now != self.after


def _recipient(spec: dict[str, Any] | None) -> Recipient:
    spec = spec or {}
    return Recipient(organisation=spec.get("organisation", ""), kind=spec.get("providerKind", ""))


def _questions(
    kind: str, scope: dict[str, Any], subject_id: UUID, at: datetime, names: dict[str, str]
) -> list[tuple[str, DecisionRequest]]:
    out: list[tuple[str, DecisionRequest]] = []
    if kind == "provider-sharing":
        who = organisation_name(scope.get("recipient"), names)
        purpose = scope.get("purpose", "care")
        for category in L.CLINICAL_CATEGORIES:
            out.append(
                (
                    _("%(who)s sees: %(what)s (purpose: %(purpose)s)")
                    % {
                        "who": who,
                        "what": L.label(L.CATEGORIES, category),
                        "purpose": L.label(L.PURPOSES, purpose),
                    },
                    DecisionRequest(
                        subject_id=subject_id,
                        flow=Flow.PROVIDER_ACCESS,
                        recipient=_recipient(scope.get("recipient")),
                        at=at,
                        purpose=purpose,
                        data_categories=frozenset({category}),
                    ),
                )
            )
    elif kind == "wellbeing-sharing":
        source = (scope.get("sources") or [{}])[0].get("application", "")
        app = (scope.get("sources") or [{}])[0].get("name", source)
        for target in scope.get("targets", []):
            if target.get("type") == "kanta-phr":
                recipient, flow, where = Recipient(kanta_phr=True), Flow.PHR_STORE, str(L.KANTA_PHR)
            else:
                spec = target.get("recipient")
                recipient, flow = _recipient(spec), Flow.PROVIDER_PUSH
                where = organisation_name(spec, names)
            for category in L.SELF_PRODUCED_CATEGORIES:
                out.append(
                    (
                        _("%(where)s receives: %(what)s (from %(app)s)")
                        % {"what": L.label(L.CATEGORIES, category), "app": app, "where": where},
                        DecisionRequest(
                            subject_id=subject_id,
                            flow=flow,
                            recipient=recipient,
                            at=at,
                            data_categories=frozenset({category}),
                            source=source,
                        ),
                    )
                )
    elif kind == "needs-assessment":
        for sender in scope.get("senders", []):
            who = organisation_name(sender, names)
            for channel in L.CHANNELS:
                for area in scope.get("lifeAreas", [])[:3] or ["health"]:
                    out.append(
                        (
                            _("%(who)s suggests services (%(area)s), contact by: %(channel)s")
                            % {
                                "who": who,
                                "area": L.label(L.LIFE_AREAS, area),
                                "channel": L.label(L.CHANNELS, channel),
                            },
                            DecisionRequest(
                                subject_id=subject_id,
                                flow=Flow.NEEDS_ASSESSMENT,
                                recipient=_recipient(sender),
                                at=at,
                                channel=channel,
                                life_area=area,
                            ),
                        )
                    )
    elif kind == "biobank":
        biobank = scope.get("biobank") or {}
        who = organisation_name(biobank, names)
        declarations = list(scope.get("modifiers", []))
        for code in ("HMB", "GRU", "POA"):
            out.append(
                (
                    _("%(who)s gives your data to research (%(use)s) that meets your conditions")
                    % {"who": who, "use": L.label(L.DUO, code)},
                    DecisionRequest(
                        subject_id=subject_id,
                        flow=Flow.RESEARCH,
                        recipient=_recipient(biobank),
                        at=at,
                        purpose="research",
                        research={
                            "biobank": biobank.get("organisation"),
                            "purpose": {"code": code},
                            "declarations": declarations,
                        },
                    ),
                )
            )
        if declarations:
            out.append(
                (
                    _("%(who)s gives your data to health research by a commercial company")
                    % {"who": who},
                    DecisionRequest(
                        subject_id=subject_id,
                        flow=Flow.RESEARCH,
                        recipient=_recipient(biobank),
                        at=at,
                        purpose="research",
                        research={
                            "biobank": biobank.get("organisation"),
                            "purpose": {"code": "HMB"},
                        },
                    ),
                )
            )
    return out


def hypothetical(
    *,
    kind: str,
    subject_id: UUID,
    scope: dict[str, Any],
    at: datetime,
    valid_until: datetime | None = None,
    replacing: Consent | None = None,
    status: str = Status.ACTIVE,
) -> Consent:
    """An unsaved consent as it would be after the change (never written to the database)."""
    base = replacing
    return Consent(
        id=uuid.uuid4(),
        lineage=base.lineage if base else uuid.uuid4(),
        version=(base.version + 1) if base else 1,
        kind=kind,
        subject_id=subject_id,
        provision=base.provision if base else "permit",
        scope=copy.deepcopy(scope),
        status=status,
        valid_from=at,
        valid_until=valid_until,
        created_at=at,
        updated_at=at,
    )


def preview(
    *, at: datetime, proposed: Consent | None, replacing: Consent | None = None
) -> list[PreviewRow]:
    """Ask the decision point about example flows, today and after the change.

    `proposed` is the consent as it would be (None: the current one goes away, e.g. a
    withdrawal); `replacing` is the consent it replaces, left out of the "after" set. The
    questions come from whichever of the two is given (the proposed one first).
    """
    basis = proposed or replacing
    if basis is None:
        raise ValueError("preview needs the proposed consent, the replaced one, or both")
    names = provider_names()
    rows = []
    for question, request in _questions(basis.kind, basis.scope, basis.subject_id, at, names):
        loaded = policy.consents_for_decision(request)  # once for both answers
        today = policy.decide_preview(request, loaded)
        consents = [c for c in loaded if replacing is None or c.lineage != replacing.lineage]
        if proposed is not None:
            consents.append(proposed)
        after = policy.decide(request, consents)
        rows.append(
            PreviewRow(
                question=question,
                now=today.permit,
                after=after.permit,
                reason_after=L.label(L.REASONS, after.reason.value),
            )
        )
    return rows
