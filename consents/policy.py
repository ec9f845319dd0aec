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
from enum import StrEnum
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet

import schemas

from .duo import covered_categories, duo_match
from .events import EventType
from .locks import consent_lock_shared
from .log import log_append
from .models import Consent, LogEntry
from .states import Kind, Provision, Status


class Flow(StrEnum):
    """The kinds of data flow the operator decides on."""

    PROVIDER_ACCESS = "provider-access"  # a provider fetches the citizen's data
    PROVIDER_PUSH = "provider-push"  # self-produced data pushed to a provider
    PHR_STORE = "phr-store"  # self-produced data stored in Kanta PHR
    RESEARCH = "research"  # a biobank research request
    NEEDS_ASSESSMENT = "needs-assessment"  # an unsolicited offer of services


KINDS_FOR_FLOW: dict[Flow, tuple[Kind, ...]] = {
    Flow.PROVIDER_ACCESS: (Kind.PROVIDER_SHARING, Kind.WELLBEING_SHARING),
    Flow.PROVIDER_PUSH: (Kind.WELLBEING_SHARING,),
    Flow.PHR_STORE: (Kind.WELLBEING_SHARING,),
    Flow.RESEARCH: (Kind.BIOBANK,),
    Flow.NEEDS_ASSESSMENT: (Kind.NEEDS_ASSESSMENT,),
}

#: Self-produced data categories (the wellbeing-sharing kind), as the schemas publish them.
WELLBEING_CATEGORIES = frozenset(schemas.codes("selfProducedCategory"))


class Reason(StrEnum):
    """Stable reason codes; `REASON_TEXT` says each one in words a citizen can read."""

    PERMITTED = "permitted"
    NO_CONSENT = "no-consent"
    REFUSED = "refused"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    PAUSED = "paused"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    TERMINATED = "terminated"
    NOT_APPROVED = "not-approved"
    PURPOSE = "purpose-not-covered"
    CATEGORIES = "categories-not-covered"
    FREQUENCY = "frequency-exceeded"
    SOURCE = "source-not-covered"
    CHANNEL = "channel-not-covered"
    LIFE_AREA = "life-area-not-covered"
    DUO = "research-use-not-covered"
    WRONG_RECIPIENT = "consent-for-another-recipient"
    NOT_GRANTED = "not-granted"


REASON_TEXT: dict[Reason, str] = {
    Reason.PERMITTED: "Your consent permits this.",
    Reason.NO_CONSENT: "You have not given a consent that covers this recipient.",
    Reason.REFUSED: "You have refused this.",
    Reason.NOT_YET_VALID: "Your consent is not yet in force.",
    Reason.EXPIRED: "Your consent has expired.",
    Reason.PAUSED: "You have paused this consent.",
    Reason.WITHDRAWN: "You have withdrawn this consent.",
    Reason.REVOKED: "This consent was revoked.",
    Reason.TERMINATED: "The provider ended this consent.",
    Reason.NOT_APPROVED: "You have not approved this consent.",
    Reason.PURPOSE: "Your consent does not cover this purpose of use.",
    Reason.CATEGORIES: "Your consent does not cover these kinds of data.",
    Reason.FREQUENCY: "The recipient has already used this consent as often as it allows today.",
    Reason.SOURCE: "Your consent does not cover data from this application or device.",
    Reason.CHANNEL: "Your consent does not cover contact through this channel.",
    Reason.LIFE_AREA: "Your consent does not cover this area of life.",
    Reason.DUO: "Your biobank consent does not cover this kind of research.",
    Reason.WRONG_RECIPIENT: "This consent was given to another recipient.",
    Reason.NOT_GRANTED: "The recipient was not granted access to these kinds of data.",
}

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
    log_seq: int | None = field(default=None, compare=False)

    @property
    def outcome(self) -> str:
        return "permit" if self.permit else "deny"


# --- Matching one consent -------------------------------------------------------------------


def _recipient_matches(spec: Mapping[str, Any] | None, recipient: Recipient) -> bool:
    if not isinstance(spec, Mapping):
        return False
    if spec.get("organisation"):
        return bool(recipient.organisation) and spec["organisation"] == recipient.organisation
    if spec.get("providerKind"):
        return bool(recipient.kind) and spec["providerKind"] == recipient.kind
    return False


def _covers_recipient(consent: Consent, request: DecisionRequest) -> bool:
    scope = consent.scope
    if consent.kind == Kind.PROVIDER_SHARING:
        return _recipient_matches(scope.get("recipient"), request.recipient)
    if consent.kind == Kind.WELLBEING_SHARING:
        for target in scope.get("targets", []):
            if target.get("type") == "kanta-phr" and request.recipient.kanta_phr:
                return True
            if target.get("type") == "provider" and _recipient_matches(
                target.get("recipient"), request.recipient
            ):
                return True
        return False
    if consent.kind == Kind.BIOBANK:
        return _recipient_matches(scope.get("biobank"), request.recipient)
    if consent.kind == Kind.NEEDS_ASSESSMENT:
        return any(_recipient_matches(s, request.recipient) for s in scope.get("senders", []))
    return False


def _in_force(consent: Consent, at: datetime) -> Reason | None:
    """None if the consent is in force at `at`, else why not."""
    if consent.status != Status.ACTIVE:
        return _STATUS_REASON.get(Status(consent.status), Reason.NO_CONSENT)
    if at < consent.valid_from:
        return Reason.NOT_YET_VALID
    if consent.valid_until is not None and at >= consent.valid_until:
        return Reason.EXPIRED
    return None


@dataclass(frozen=True)
class _Match:
    reason: Reason
    categories: frozenset[str] = frozenset()
    detail: str = ""
    detail_code: str = ""


def _match_scope(consent: Consent, request: DecisionRequest, usage: Mapping[UUID, int]) -> _Match:
    """Does the consent's scope cover the request (recipient already matched)?"""
    scope = consent.scope
    wanted = request.data_categories
    if consent.kind == Kind.PROVIDER_SHARING:
        if request.flow != Flow.PROVIDER_ACCESS:
            return _Match(Reason.NO_CONSENT)
        if request.purpose and scope.get("purpose") != request.purpose:
            return _Match(Reason.PURPOSE)
        granted = frozenset(scope.get("dataCategories", [])) & wanted
        if not granted:
            return _Match(Reason.CATEGORIES)
        limit = scope.get("frequencyPerDay")
        if limit is not None and usage.get(consent.lineage, 0) >= limit:
            return _Match(Reason.FREQUENCY)
        return _Match(Reason.PERMITTED, granted)
    if consent.kind == Kind.WELLBEING_SHARING:
        sources = {s.get("application") for s in scope.get("sources", [])}
        if request.flow in (Flow.PHR_STORE, Flow.PROVIDER_PUSH) and request.source not in sources:
            return _Match(Reason.SOURCE)
        granted = frozenset(scope.get("dataCategories", [])) & wanted
        if not granted:
            return _Match(Reason.CATEGORIES)
        return _Match(Reason.PERMITTED, granted)
    if consent.kind == Kind.BIOBANK:
        result = duo_match(scope, dict(request.research or {}), at=request.at)
        if not result.ok:
            return _Match(Reason.DUO, detail=result.detail, detail_code=result.code)
        granted = covered_categories(scope) & wanted
        if wanted and not granted:
            return _Match(Reason.CATEGORIES)
        return _Match(Reason.PERMITTED, granted, detail=result.detail, detail_code=result.code)
    if consent.kind == Kind.NEEDS_ASSESSMENT:
        if request.channel not in scope.get("channels", []):
            return _Match(Reason.CHANNEL)
        if request.life_area not in scope.get("lifeAreas", []):
            return _Match(Reason.LIFE_AREA)
        return _Match(Reason.PERMITTED)
    return _Match(Reason.NO_CONSENT)


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
    kinds = KINDS_FOR_FLOW[request.flow]
    relevant = [
        c
        for c in consents
        if c.subject_id == request.subject_id
        and c.kind in kinds
        and c.status != Status.SUPERSEDED
        and (request.consent_lineage is None or c.lineage == request.consent_lineage)
    ]
    if request.flow == Flow.PROVIDER_ACCESS:
        # Self-produced data is governed by wellbeing-sharing, the rest by provider-sharing.
        relevant = [
            c
            for c in relevant
            if c.kind == Kind.PROVIDER_SHARING
            or (request.data_categories and request.data_categories <= WELLBEING_CATEGORIES)
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

    permits: list[tuple[Consent, _Match]] = []
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
        subject_id=request.subject_id, kind__in=KINDS_FOR_FLOW[request.flow]
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
    limited = [
        c for c in consents if c.kind == Kind.PROVIDER_SHARING and c.scope.get("frequencyPerDay")
    ]
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
    with transaction.atomic():
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
    return Decision(**{**decision.__dict__, "log_seq": entry.seq})


def decide_preview(request: DecisionRequest, consents: list[Consent] | None = None) -> Decision:
    """Decide without logging: for previews that move no data (the dashboard).

    `consents` may be given when the caller has already loaded them for this request."""
    if consents is None:
        consents = consents_for_decision(request)
    return decide(request, consents, _usage(consents, request.at))
