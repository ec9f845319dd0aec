"""What the dashboard reads: the consents a person may see, their scopes in words, notices
about ended rights, pending requests, history and disclosures. Reads only; no rule here.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from connectors.models import OfferDelivery
from consents import representation
from consents.models import Consent, LogEntry, Mandate, Receipt
from consents.policy import KINDS_FOR_FLOW
from consents.states import Status
from mydata_operator.api.dates import local_datetime
from mydata_operator.identity.models import Person, Provider

from . import labels as L
from .kinds import DASHBOARD_KINDS
from .kinds import describe_scope as kind_rows
from .kinds.base import listing, organisation_name

#: States shown as current on the overview; the rest are listed as past consents.
CURRENT = (Status.ACTIVE, Status.PAUSED)
DISCLOSURE_EVENTS = ("decision.permit", "decision.deny", "flow.delivered")


@dataclass
class Subject:
    """A person whose consents the signed-in person may manage, on what basis, and for which
    kinds (None: every kind), as `consents.representation` rules."""

    person: Person
    role: str  # "self", "guardian" or "mandate"
    mandate: Mandate | None = None
    kinds: frozenset[str] | None = None

    @property
    def is_self(self) -> bool:
        return self.role == "self"

    def covers(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


@dataclass
class KindGroup:
    kind: str
    label: str
    help: str
    current: list[Consent] = field(default_factory=list)
    past: list[Consent] = field(default_factory=list)


def subjects_for(person: Person, *, at: datetime) -> list[Subject]:
    """The person themself first, then everyone they validly act for at `at`."""
    reps = representation.representations_for(person_id=person.id, at=at)
    people = people_by_id({r.subject_id for r in reps[1:]})
    subjects = [Subject(person, "self")]
    for rep in reps[1:]:
        if rep.subject_id in people:
            subjects.append(Subject(people[rep.subject_id], rep.role, rep.mandate, rep.kinds))
    return subjects


def subject_ids(person: Person, *, at: datetime) -> set[UUID]:
    return {s.person.id for s in subjects_for(person, at=at)}


def subject_or_404(person: Person, subject_id: UUID | str | None, *, at: datetime) -> Subject:
    """The subject the person asked for (default themself); 404 when they may not act for it."""
    subjects = subjects_for(person, at=at)
    if not subject_id:
        return subjects[0]
    for subject in subjects:
        if str(subject.person.id) == str(subject_id):
            return subject
    raise Http404


class KindNotCovered(PermissionDenied):
    """The person acts for the consent's subject, but their mandate does not cover its kind."""


def consent_or_404(person: Person, consent_id: UUID, *, at: datetime) -> Consent:
    """One consent of a kind the person may act on for its subject. A consent of someone
    they do not act for is "not found"; one of a kind their mandate does not cover is
    `KindNotCovered` (shown nothing of it, told why)."""
    consent = Consent.objects.filter(id=consent_id).first()
    if consent is None:
        raise Http404
    rep = representation.representation_for(
        person_id=person.id, subject_id=consent.subject_id, at=at
    )
    if rep is None:
        raise Http404
    if not rep.covers(consent.kind):
        raise KindNotCovered
    return consent


def latest_version(consent: Consent) -> Consent:
    newest = Consent.objects.filter(lineage=consent.lineage).order_by("-version").first()
    return newest or consent


def groups_for(subject_id: UUID, kinds: frozenset[str] | None = None) -> list[KindGroup]:
    """The subject's consents by kind: the newest version of each, current first; only the
    `kinds` given (None: every kind), so an agent sees what their mandate covers."""
    groups = {
        kind: KindGroup(kind, L.label(L.KINDS, kind), L.label(L.KIND_HELP, kind))
        for kind in DASHBOARD_KINDS
    }
    consents = (
        Consent.objects.filter(subject_id=subject_id)
        .exclude(status__in=[Status.SUPERSEDED, Status.REQUESTED])
        .order_by("-created_at")
    )
    if kinds is not None:
        groups = {kind: group for kind, group in groups.items() if kind in kinds}
    for consent in consents:
        group = groups.get(consent.kind)
        if group is None:
            continue
        (group.current if consent.status in CURRENT else group.past).append(consent)
    return list(groups.values())


def pending_requests(subjects: list[Subject], *, at: datetime) -> QuerySet[Consent]:
    """Requests from providers that wait for an answer from one of these subjects, of the
    kinds the signed-in person may act on for each."""
    reps = [representation.Representation(s.person.id, s.role, s.kinds) for s in subjects]
    return (
        Consent.objects.filter(representation.consents_filter(reps), status=Status.REQUESTED)
        .filter(Q(request_expires_at__isnull=True) | Q(request_expires_at__gt=at))
        .order_by("created_at")
    )


def people_by_id(ids: set[UUID]) -> dict[UUID, Person]:
    return {p.id: p for p in Person.objects.filter(id__in=ids)}


def provider_names() -> dict[str, str]:
    return dict(Provider.objects.values_list("organisation_id", "name"))


def recipient_name(code: str, names: dict[str, str]) -> str:
    """A log entry's recipient column in words."""
    if code in L.RECIPIENTS:
        return L.label(L.RECIPIENTS, code)
    if code in L.PROVIDER_KINDS:
        return L.label(L.PROVIDER_KINDS, code)
    return names.get(code, code)


def _date(value: datetime | None) -> str:
    if value is None:
        return ""
    return formats.date_format(timezone.localtime(value), "SHORT_DATE_FORMAT")


def describe_scope(
    kind: str, scope: dict[str, Any], names: dict[str, str]
) -> list[tuple[str, str]]:
    """The scope in plain language: (term, description) rows (the kind's module says)."""
    return kind_rows(kind, scope, names)


def _datetime(value: datetime) -> str:
    return local_datetime(value)  # one format with the provider API's authorize page


def validity(consent: Consent) -> str:
    """The period of a consent in force (or proposed), in words."""
    if consent.valid_until:
        return _("%(start)s – %(end)s") % {  # noqa: RUF001 - an en dash between dates
            "start": _date(consent.valid_from),
            "end": _date(consent.valid_until),
        }
    return _("from %(start)s until withdrawn") % {"start": _date(consent.valid_from)}


#: How a consent that is no longer in force ended, and the moment that says when.
ENDED: dict[str, Any] = {
    Status.WITHDRAWN: (L.ENDED_TERMS["withdrawn"], "updated_at"),
    Status.REVOKED: (L.ENDED_TERMS["revoked"], "updated_at"),
    Status.TERMINATED: (L.ENDED_TERMS["terminated"], "updated_at"),
    Status.REJECTED: (L.ENDED_TERMS["rejected"], "updated_at"),
    Status.SUPERSEDED: (L.ENDED_TERMS["superseded"], "updated_at"),
    Status.EXPIRED: (L.ENDED_TERMS["expired"], "valid_until"),
}


def validity_line(consent: Consent) -> tuple[str, str]:
    """(term, text): "In force: from … until withdrawn" for a current consent, and for
    one that ended how and when it ended ("Withdrawn: 30.11.2026 at 8.38"), never a period
    that promises more than the consent still does."""
    ended = ENDED.get(consent.status)
    if ended is None:
        term = _("In force") if consent.status != Status.REQUESTED else _("Requested period")
        return term, validity(consent)
    label, attribute = ended
    when = getattr(consent, attribute, None) or consent.updated_at
    return str(label), _datetime(when)


def access_notices(person: Person, *, at: datetime) -> list[str]:
    """Tell the person about rights that ended: theirs to act for others, and others' for them."""
    notices: list[str] = []
    ended = Mandate.objects.filter(Q(ended_at__lte=at) | Q(valid_until__lte=at))
    still = subject_ids(person, at=at) - {person.id}
    told: set[UUID] = set()
    for mandate in ended.filter(agent_id=person.id).order_by("-valid_until"):
        principal = Person.objects.filter(id=mandate.principal_id).first()
        when = mandate.ended_at or mandate.valid_until
        if principal is None or when is None or principal.id in still | told:
            continue  # a renewed mandate still gives access; say each person once
        told.add(principal.id)
        notices.append(
            _(
                "Your right to act on behalf of %(name)s ended on %(date)s. The consents you "
                "gave for them stay in force; %(name)s now manages them."
            )
            % {"name": principal, "date": _date(when)}
        )
    for mandate in ended.filter(principal_id=person.id):
        given = Consent.objects.filter(
            subject_id=person.id, granted_by=mandate.agent_id, status__in=CURRENT
        ).count()
        if not given:
            continue
        if mandate.basis == Mandate.Basis.GUARDIAN:
            text = _(
                "%(count)s of your consents were given on your behalf by your guardian. They "
                "stay in force: you can now review, change or withdraw them yourself."
            )
        else:
            text = _(
                "%(count)s of your consents were given on your behalf by a person whose "
                "mandate has ended. They stay in force: review, change or withdraw them here."
            )
        notices.append(text % {"count": given})
    return notices


@dataclass
class HistoryRow:
    at: datetime
    event: str
    actor: str
    version: int | None
    reason: str


def history(consent: Consent, *, viewer: Person) -> list[HistoryRow]:
    """Every lifecycle event of the consent's lineage, oldest first."""
    entries = LogEntry.objects.filter(
        consent_lineage=consent.lineage, event_type__startswith="consent."
    ).order_by("id")
    people = people_by_id({e.actor_id for e in entries if e.actor_id})
    names = provider_names()
    rows = []
    for entry in entries:
        body = json.loads(entry.entry)
        detail = body.get("actorDetail") or {}
        if entry.actor_id == viewer.id:
            actor = _("you")
        elif entry.actor_id in people:
            role = L.label(L.ROLES, detail.get("role", "")) if detail.get("role") else ""
            actor = f"{people[entry.actor_id]}" + (f" ({role})" if role else "")
        elif detail.get("type") == "provider":
            actor = names.get(detail.get("id", ""), detail.get("id", ""))
        else:
            actor = _("Tahto (automatic)")
        rows.append(
            HistoryRow(
                at=entry.occurred_at,
                event=L.label(L.EVENTS, entry.event_type),
                actor=actor,
                version=(body.get("consent") or {}).get("version"),
                reason=body.get("reason") or "",
            )
        )
    return rows


def receipts_for(consent: Consent) -> QuerySet[Receipt]:
    return Receipt.objects.filter(consent__lineage=consent.lineage).order_by("issued_at")


def receipt_or_404(person: Person, receipt_id: UUID, *, at: datetime) -> Receipt:
    receipt = Receipt.objects.select_related("consent").filter(id=receipt_id).first()
    if receipt is None or not representation.may_act(
        person_id=person.id,
        subject_id=receipt.consent.subject_id,
        kind=receipt.consent.kind,
        at=at,
    ):
        raise Http404
    return receipt


@dataclass
class Disclosure:
    at: datetime
    event: str
    outcome: str  # "permit", "deny", "delivered" (a permitted flow whose data went out) or "sent"
    recipient: str
    categories: str
    purpose: str
    reason: str
    flow: str
    #: The consent the decision was made under (its newest version), when there was one.
    consent_id: UUID | None = None
    consent_label: str = ""


def _disclosures_covered(subject_id: UUID, kinds: frozenset[str]) -> Q:
    """Entries about flows under consents of these kinds (and denials, which name no
    consent, of flows these kinds decide)."""
    lineages = Consent.objects.filter(subject_id=subject_id, kind__in=kinds).values("lineage")
    flows = [flow.value for flow, decided_by in KINDS_FOR_FLOW.items() if kinds & set(decided_by)]
    return Q(consent_lineage__in=lineages) | Q(consent_lineage__isnull=True, kind__in=flows)


def disclosures(
    subject_id: UUID,
    *,
    kinds: frozenset[str] | None = None,
    recipient: str = "",
    outcome: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[LogEntry]:
    """Data-flow decisions and deliveries under the subject's consents, newest first; only
    under consents of `kinds` when given (an agent's mandate for some kinds)."""
    qs = LogEntry.objects.filter(subject_id=subject_id, event_type__in=DISCLOSURE_EVENTS)
    if kinds is not None:
        qs = qs.filter(_disclosures_covered(subject_id, kinds))
    if recipient:
        qs = qs.filter(recipient=recipient)
    if outcome == "delivered":
        qs = qs.filter(event_type="flow.delivered")
    elif outcome in ("permit", "deny"):
        qs = qs.filter(event_type=f"decision.{outcome}")
    else:
        # One row per event: a delivery that follows a permit (it names the permit's consent)
        # is shown in the permit's row; deliveries of the person's own consent to Kanta stay.
        qs = qs.exclude(event_type="flow.delivered", consent_lineage__isnull=False)
    if start:
        qs = qs.filter(occurred_at__gte=start)
    if end:
        qs = qs.filter(occurred_at__lt=end)
    return qs.order_by("-id")  # pending entries too, newest recorded first


def disclosure_recipients(subject_id: UUID, kinds: frozenset[str] | None = None) -> list[str]:
    return sorted(
        set(
            disclosures(subject_id, kinds=kinds)
            .exclude(recipient="")
            .values_list("recipient", flat=True)
        )
    )


def deliveries_of(entries: list[LogEntry]) -> set[int]:
    """The ids of the permits among `entries` whose data a later entry says was delivered."""
    permits = {e.id: e for e in entries if e.event_type == "decision.permit"}
    lineages = {e.consent_lineage for e in permits.values() if e.consent_lineage}
    if not permits:
        return set()
    delivered: set[int] = set()
    later = LogEntry.objects.filter(
        event_type="flow.delivered", consent_lineage__in=lineages, id__gt=min(permits)
    ).only("entry")
    for entry in later:
        decision_id = json.loads(entry.entry).get("decisionEntry")
        if decision_id in permits:
            delivered.add(decision_id)
    return delivered


def _consent_of(entry: LogEntry, body: dict[str, Any]) -> Consent | None:
    """The consent an entry was decided under, or (a consent sent to Kanta) is about."""
    lineage: Any = entry.consent_lineage
    if lineage is None and body.get("connector") == "kanta.consent":
        lineage = ((body.get("detail") or {}).get("id")) or None
    if lineage is None:
        return None
    try:
        return Consent.objects.filter(lineage=lineage).order_by("-version").first()
    except (ValueError, TypeError):
        return None


def disclosure_row(
    entry: LogEntry, names: dict[str, str], *, delivered: set[int] | None = None
) -> Disclosure:
    body = json.loads(entry.entry)
    decision = body.get("decision") or {}
    categories = body.get("permitted") or body.get("categories") or []
    if entry.event_type == "flow.delivered":
        outcome = "sent" if entry.consent_lineage is None else "delivered"
    elif entry.event_type == "decision.permit":
        outcome = "delivered" if entry.id in (delivered or set()) else "permit"
    else:
        outcome = "deny"
    reason = decision.get("reason", "")
    consent = _consent_of(entry, body)
    consent_label = ""
    if consent is not None:
        consent_label = _("%(kind)s: %(who)s") % {
            "kind": L.label(L.KINDS, consent.kind),
            "who": (kind_rows(consent.kind, consent.scope, names) or [("", "")])[0][1],
        }
    return Disclosure(
        consent_id=consent.id if consent is not None else None,
        consent_label=consent_label,
        at=entry.occurred_at,
        event=L.label(L.EVENTS, entry.event_type),
        outcome=outcome,
        recipient=recipient_name(entry.recipient, names)
        or organisation_name(body.get("recipient"), names),
        categories=listing(L.labels(L.CATEGORIES, list(categories))),
        purpose=L.label(L.PURPOSES, entry.purpose) if entry.purpose else "",
        reason=L.label(L.REASONS, reason) if reason else "",
        flow=L.label(L.CONSULTS, body["requestedBy"])
        if body.get("requestedBy") in L.CONSULTS
        else L.label(L.FLOWS, body.get("flow") or entry.kind),
    )


def offers_for(ids: set[UUID]) -> QuerySet[OfferDelivery]:
    """Offers of services delivered under these subjects' needs-assessment consents."""
    return OfferDelivery.objects.filter(subject_id__in=ids).order_by("-delivered_at")


#: The session key of the person the signed-in person is acting for (absent: themself).
ACTING_FOR = "tahto_acting_for"


def acting_subject(person: Person, chosen: str | None, *, at: datetime) -> Subject:
    """The subject the person chose to act for, when they still may; else themself."""
    subjects = subjects_for(person, at=at)
    for subject in subjects:
        if chosen and str(subject.person.id) == chosen:
            return subject
    return subjects[0]
