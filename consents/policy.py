"""The one policy decision point: may this data go there?

`decide()` is a pure function of a request and the consents handed to it, so it is
table-tested without a database. `decide_and_log()` loads the subject's consents, asks
`decide()`, and writes the decision to the log in the same transaction.

Rules: a missing consent is a deny; an explicit refusal (provision "deny") in force wins
over any permit; among permits the newest consent decides; only what the deciding consent
names is permitted (the response is narrowed to it).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet

import schemas

from .decisions import REASON_TEXT, Flow, Reason
from .events import EventType
from .kinds import KINDS, kind_spec, kinds_answering
from .kinds.base import Match
from .locks import consent_lock_shared
from .log import log_append
from .models import Consent, LogEntry
from .states import Provision, Status

__all__ = [
    "FREQUENCY_WINDOW",
    "KINDS_FOR_FLOW",
    "REASON_TEXT",
    "WELLBEING_CATEGORIES",
    "Decision",
    "DecisionRequest",
    "Flow",
    "Reason",
    "Recipient",
    "consents_for_decision",
    "decide",
    "decide_and_log",
    "decide_preview",
    "decide_standing",
]

#: The kinds whose consents answer each flow, as the kinds say (`consents.kinds`).
KINDS_FOR_FLOW: dict[Flow, tuple[str, ...]] = {flow: tuple(kinds_answering(flow)) for flow in Flow}

#: Self-produced data categories, as the schemas publish them (the connectors sort data by them).
WELLBEING_CATEGORIES = frozenset(schemas.codes("selfProducedCategory"))


#: Deny reasons that end a consent for good: whatever is bound to it (a token) ends with it.
ENDED: frozenset[Reason] = frozenset(
    {Reason.WITHDRAWN, Reason.REVOKED, Reason.TERMINATED, Reason.EXPIRED}
)

#: Deny reasons that stop every flow under a consent until its subject acts again: it ended,
#: or it is paused. Access bound to such a consent (its tokens) is revoked.
HALTED: frozenset[Reason] = ENDED | {Reason.PAUSED}

#: Reasons under which a consent still stands for what it names (at most rate-limited now).
STANDING: frozenset[Reason] = frozenset({Reason.PERMITTED, Reason.FREQUENCY})

_STATUS_REASON = {
    Status.PAUSED: Reason.PAUSED,
    Status.WITHDRAWN: Reason.WITHDRAWN,
    Status.REVOKED: Reason.REVOKED,
    Status.TERMINATED: Reason.TERMINATED,
    Status.EXPIRED: Reason.EXPIRED,
    Status.REQUESTED: Reason.NOT_APPROVED,
    Status.REJECTED: Reason.NOT_APPROVED,
}

# Closer reasons explain a deny better: when several consents fail, the closest one speaks.
# A consent in a final state (revoked, terminated, withdrawn, expired) can never permit again,
# so it is further away than one in force whose scope falls short: a refused research request
# names the donor's active consent that did not cover it, not an older withdrawn one.
_CLOSENESS = [
    Reason.NO_CONSENT,
    Reason.WRONG_RECIPIENT,
    Reason.REVOKED,
    Reason.TERMINATED,
    Reason.WITHDRAWN,
    Reason.EXPIRED,
    Reason.NOT_APPROVED,
    Reason.NOT_GRANTED,
    Reason.PURPOSE,
    Reason.SOURCE,
    Reason.CHANNEL,
    Reason.LIFE_AREA,
    Reason.CATEGORIES,
    Reason.DUO,
    Reason.NOT_YET_VALID,
    Reason.PAUSED,
    Reason.FREQUENCY,
]


@dataclass(frozen=True)
class Recipient:
    """Where the data would go: an organisation (by OID), its kind, or Kanta PHR."""

    organisation: str = ""
    kind: str = ""
    kanta_phr: bool = False

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.organisation:
            d["organisation"] = self.organisation
        if self.kind:
            d["providerKind"] = self.kind
        if self.kanta_phr:
            d["kantaPhr"] = True
        return d


@dataclass(frozen=True)
class DecisionRequest:
    """One question for the decision point. No health data: only what would move where."""

    subject_id: UUID
    flow: Flow
    recipient: Recipient
    at: datetime
    purpose: str = ""
    data_categories: frozenset[str] = frozenset()
    consent_lineage: UUID | None = None  # set when the flow is bound to one consent (a token)
    research: Mapping[str, Any] | None = None  # a research-request body (DUO codes)
    source: str = ""  # application that produced self-produced data
    channel: str = ""
    life_area: str = ""
    # What the recipient's own authorisation (an access token's authorization_details)
    # grants; None: no narrowing beyond the consent. A flow bound to a token may move only
    # the categories, and do only the actions, both the consent and the token allow.
    granted_categories: frozenset[str] | None = None
    granted_actions: frozenset[str] | None = None
    action: str = "read"


def status_reason(status: str) -> Reason | None:
    """Why a consent in `status` denies (None for a consent that may be in force)."""
    return _STATUS_REASON.get(Status(status)) if status in Status.values else None


@dataclass(frozen=True)
class Decision:
    permit: bool
    reason: Reason
    explanation: str
    consent_id: UUID | None = None
    consent_lineage: UUID | None = None
    consent_version: int | None = None
    permitted_categories: frozenset[str] = frozenset()
    detail_code: str = ""  # e.g. the DUO rule that failed
    # The decision's log entry: its id and leaf hash (its leaf index comes at integration).
    log_entry_id: int | None = field(default=None, compare=False)
    log_leaf_hash: bytes | None = field(default=None, compare=False)

    @property
    def outcome(self) -> str:
        return "permit" if self.permit else "deny"


# --- Matching one consent -------------------------------------------------------------------


def _covers_recipient(consent: Consent, request: DecisionRequest) -> bool:
    return kind_spec(consent.kind).covers_recipient(consent.scope, request.recipient)


def _in_force(consent: Consent, at: datetime) -> Reason | None:
    """None if the consent is in force at `at`, else why not."""
    if consent.status != Status.ACTIVE:
        return _STATUS_REASON.get(Status(consent.status), Reason.NO_CONSENT)
    if at < consent.valid_from:
        return Reason.NOT_YET_VALID
    if consent.valid_until is not None and at >= consent.valid_until:
        return Reason.EXPIRED
    return None


def _match_scope(consent: Consent, request: DecisionRequest, usage: Mapping[UUID, int]) -> Match:
    """Does the consent's scope cover the request (recipient already matched)? Its kind says."""
    return kind_spec(consent.kind).match(
        consent.scope, request, used_today=usage.get(consent.lineage, 0)
    )


def _deny(
    reason: Reason, consent: Consent | None = None, detail: str = "", code: str = ""
) -> Decision:
    text = REASON_TEXT[reason] + (f" {detail}" if detail else "")
    return Decision(
        permit=False,
        reason=reason,
        explanation=text,
        consent_id=consent.id if consent else None,
        consent_lineage=consent.lineage if consent else None,
        consent_version=consent.version if consent else None,
        detail_code=code,
    )


def _beyond_grant(request: DecisionRequest, permitted: frozenset[str]) -> str | None:
    """What the recipient's own grant leaves out of a permit, in words; None if nothing."""
    if request.granted_actions is not None and request.action not in request.granted_actions:
        return f"Not granted: the action {request.action!r}."
    if request.granted_categories is None:
        return None
    if request.data_categories and not permitted & request.granted_categories:
        asked = ", ".join(sorted(permitted or request.data_categories))
        return f"Not granted: {asked}."
    return None


def decide(
    request: DecisionRequest,
    consents: Iterable[Consent],
    usage: Mapping[UUID, int] | None = None,
) -> Decision:
    """Answer one request from the subject's consents. Pure: reads nothing else."""
    usage = usage or {}
    relevant = [
        c
        for c in consents
        if c.subject_id == request.subject_id
        and c.kind in KINDS
        and KINDS[c.kind].answers(request)  # the kind says which requests it governs
        and c.status != Status.SUPERSEDED
        and (request.consent_lineage is None or c.lineage == request.consent_lineage)
    ]
    if not relevant:
        return _deny(Reason.NO_CONSENT)
    newest_first = sorted(relevant, key=lambda c: (c.created_at, c.version), reverse=True)

    best: tuple[int, Decision] | None = None

    def consider(decision: Decision) -> None:
        nonlocal best
        rank = _CLOSENESS.index(decision.reason)
        if best is None or rank > best[0]:
            best = (rank, decision)

    permits: list[tuple[Consent, Match]] = []
    for consent in newest_first:
        if not _covers_recipient(consent, request):
            consider(
                _deny(
                    Reason.WRONG_RECIPIENT if request.consent_lineage else Reason.NO_CONSENT,
                    consent,
                )
            )
            continue
        not_in_force = _in_force(consent, request.at)
        if not_in_force is not None:
            consider(_deny(not_in_force, consent))
            continue
        if consent.provision == Provision.DENY:
            # A refusal in force covers every flow to this recipient of its kind: deny wins.
            return _deny(Reason.REFUSED, consent)
        match = _match_scope(consent, request, usage)
        if match.reason == Reason.PERMITTED:
            permits.append((consent, match))
        else:
            consider(_deny(match.reason, consent, match.detail, match.detail_code))
    if permits:
        consent, match = permits[0]  # the newest permit decides
        not_granted = _beyond_grant(request, match.categories)
        if not_granted is not None:
            return _deny(Reason.NOT_GRANTED, consent, not_granted)
        categories = match.categories
        if request.granted_categories is not None:
            categories = categories & request.granted_categories
        return Decision(
            permit=True,
            reason=Reason.PERMITTED,
            explanation=REASON_TEXT[Reason.PERMITTED]
            + (f" {match.detail}" if match.detail else ""),
            consent_id=consent.id,
            consent_lineage=consent.lineage,
            consent_version=consent.version,
            permitted_categories=categories,
            detail_code=match.detail_code,
        )
    assert best is not None
    return best[1]


# --- The logged wrapper ---------------------------------------------------------------------

FREQUENCY_WINDOW = timedelta(hours=24)


def _consents_query(request: DecisionRequest) -> QuerySet[Consent]:
    qs = Consent.objects.filter(
        subject_id=request.subject_id, kind__in=kinds_answering(request.flow)
    ).exclude(status__in=[Status.SUPERSEDED])
    if request.consent_lineage is not None:
        qs = qs.filter(lineage=request.consent_lineage)
    return qs


def consents_for_decision(request: DecisionRequest) -> list[Consent]:
    """The consents `decide()` needs for this request (read without a lock: previews)."""
    return list(_consents_query(request))


def consents_for_decision_locked(request: DecisionRequest) -> list[Consent]:
    """The consents of the request, read after taking the subject's consent lock shared
    (`consents.locks`): held until the caller's transaction ends, so a withdrawal, pause,
    expiry or termination of the subject's consents (which take it exclusive) waits for
    this decision, and a decision that comes after one waits for it and sees it. Decisions
    share the lock, so they do not wait for one another. Must run inside a transaction."""
    consent_lock_shared(request.subject_id)
    return list(_consents_query(request))


def _usage(consents: Sequence[Consent], at: datetime) -> dict[UUID, int]:
    limited = [c for c in consents if c.kind in KINDS and KINDS[c.kind].daily_limit(c.scope)]
    usage: dict[UUID, int] = {}
    for consent in limited:
        usage[consent.lineage] = LogEntry.objects.filter(
            consent_lineage=consent.lineage,
            event_type=EventType.DECISION_PERMIT,
            occurred_at__gt=at - FREQUENCY_WINDOW,
            occurred_at__lte=at,
        ).count()
    return usage


def _consent_purpose(decision: Decision, consents: Iterable[Consent]) -> str:
    """The purpose the deciding consent names, for a request bound to it that names none (a
    token's call: its purpose is the consent's, so it is logged, not compared)."""
    for consent in consents:
        if consent.id == decision.consent_id and isinstance(consent.scope, dict):
            purpose = consent.scope.get("purpose")
            return purpose if isinstance(purpose, str) else ""
    return ""


def _granted(request: DecisionRequest) -> dict[str, Any] | None:
    """What the recipient's own authorisation granted, as the decision entry records it."""
    if request.granted_categories is None and request.granted_actions is None:
        return None
    return {
        "categories": sorted(request.granted_categories)
        if request.granted_categories is not None
        else None,
        "actions": sorted(request.granted_actions) if request.granted_actions is not None else None,
        "action": request.action,
    }


def decide_and_log(request: DecisionRequest, *, requested_by: str = "") -> Decision:
    """Decide for a real data flow and log the decision, permit or deny, with its reason.

    The consents it reads stay share-locked until the caller's transaction ends: a caller
    that moves the data and logs the delivery in the same transaction is thereby ordered
    with any withdrawal (pause, expiry, termination) of those consents."""
    # No savepoint inside a caller's transaction (two statements saved per decision): an
    # error here rolls back the caller's whole transaction, which is what it would want.
    with transaction.atomic(savepoint=False):
        consents = consents_for_decision_locked(request)
        decision = decide(request, consents, _usage(consents, request.at))
        purpose = request.purpose or _consent_purpose(decision, consents)
        entry = log_append(
            event_type=EventType.DECISION_PERMIT if decision.permit else EventType.DECISION_DENY,
            occurred_at=request.at,
            subject_id=request.subject_id,
            consent_id=decision.consent_id,
            consent_lineage=decision.consent_lineage,
            kind=request.flow.value,
            recipient=request.recipient.organisation
            or request.recipient.kind
            or ("kanta-phr" if request.recipient.kanta_phr else ""),
            purpose=purpose,
            outcome=decision.outcome,
            body={
                "flow": request.flow.value,
                "recipient": request.recipient.as_dict(),
                "requestedBy": requested_by or None,
                "purpose": purpose or None,
                "categories": sorted(request.data_categories),
                "permitted": sorted(decision.permitted_categories),
                "source": request.source or None,
                "channel": request.channel or None,
                "lifeArea": request.life_area or None,
                "research": dict(request.research) if request.research else None,
                "granted": _granted(request),
                "decision": {
                    "outcome": decision.outcome,
                    "reason": decision.reason.value,
                    "detail": decision.detail_code or None,
                    "consent": {
                        "id": decision.consent_id,
                        "lineage": decision.consent_lineage,
                        "version": decision.consent_version,
                    }
                    if decision.consent_id
                    else None,
                },
            },
        )
    return Decision(
        **{
            **decision.__dict__,
            "log_entry_id": entry.id,
            "log_leaf_hash": bytes(entry.leaf_hash),
        }
    )


def decide_standing(request: DecisionRequest, consents: list[Consent] | None = None) -> Decision:
    """Decide without logging whether the consents still stand for the request, without
    counting today's uses: a consent whose daily limit is used up still stands (its reason
    would be FREQUENCY, which is in STANDING), so the count is not read. For the liveness of
    a token bound to a consent (introspection, the token endpoint), which moves no data.

    `consents` may be given when the caller has already loaded them for this request."""
    if consents is None:
        consents = consents_for_decision(request)
    return decide(request, consents)


def decide_preview(request: DecisionRequest, consents: list[Consent] | None = None) -> Decision:
    """Decide without logging: for previews that move no data (the dashboard).

    `consents` may be given when the caller has already loaded them for this request."""
    if consents is None:
        consents = consents_for_decision(request)
    return decide(request, consents, _usage(consents, request.at))
