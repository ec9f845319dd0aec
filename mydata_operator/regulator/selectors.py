"""Reading the consent log for regulators: search, drill-down, counts and statistics.

Only integrated entries (those with a leaf index) are read. Every read is keyset-paginated on
`seq` (the leaf index, LogLeaf's primary key) and uses the log's indexes
(subject, lineage, recipient, type/time, time); nothing counts the whole table or skips
with OFFSET, so a page costs the same on the millionth entry as on the first.
"""

from __future__ import annotations

import base64
import json
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncYear

from consents.events import EventType
from consents.log import b64
from consents.models import Consent, Cosignature, LogDailyCount, LogEntry, Notice
from mydata_operator.identity.models import Provider

from .filters import LogFilter

DECISIONS = (EventType.DECISION_PERMIT.value, EventType.DECISION_DENY.value)
#: Counting stops here: past it a page says "more than", and no query counts further.
COUNT_CAP = 100_000


def entries_matching(f: LogFilter) -> QuerySet[LogEntry]:
    """The integrated log entries the filter selects, unordered.

    Only entries with a leaf index are searchable: what a regulator finds is in the tree."""
    qs = LogEntry.objects.integrated()
    if f.subject_id:
        qs = qs.filter(subject_id=f.subject_id)
    if f.provider:
        qs = qs.filter(recipient=f.provider)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.event_types:
        qs = qs.filter(event_type__in=f.event_types)
    else:
        # The regulators' own queries are entries too; they are shown when asked for.
        qs = qs.exclude(event_type=EventType.AUDIT_QUERY)
    if f.purpose:
        qs = qs.filter(purpose=f.purpose)
    if f.outcome:
        qs = qs.filter(outcome=f.outcome)
    if f.consent:
        qs = qs.filter(Q(consent_lineage=f.consent) | Q(consent_id=f.consent))
    if f.time_from:
        qs = qs.filter(occurred_at__gte=f.time_from)
    if f.time_to:
        qs = qs.filter(occurred_at__lt=f.time_to)
    return qs


#: The leaf index as an expression: the same order, but no index can give it, so PostgreSQL
#: starts from the filter's own index (subject, lineage) and sorts what it finds. With the
#: plain column it may walk the whole tree backwards from the newest leaf in the hope of
#: meeting the few entries of one person or one consent soon: 2.4 s at a million entries
#: for a person whose entries are all old (`make bench-scale`).
SEQ_SORTED = ExpressionWrapper(F("leaf__seq") + 0, output_field=BigIntegerField())


def _seq_order(f: LogFilter) -> Any:
    """How to order entries the filter selects by leaf index (see SEQ_SORTED)."""
    return SEQ_SORTED if f.subject_id or f.consent else F("leaf__seq")


@dataclass(frozen=True)
class Page:
    """One page of entries, newest first, with the cursors of the pages around it."""

    entries: list[LogEntry]
    older: int | None  # pass as `before` for the next (older) page
    newer: int | None  # pass as `after` for the previous (newer) page


def entries_page(
    f: LogFilter, *, before: int | None = None, after: int | None = None, limit: int = 50
) -> Page:
    """A page of matching entries, newest first; `before`/`after` are keyset cursors (seq)."""
    qs = entries_matching(f)
    seq = _seq_order(f)
    if after is not None:
        rows = list(qs.filter(leaf__seq__gt=after).order_by(seq.asc())[: limit + 1])
        more_newer = len(rows) > limit
        rows = rows[:limit][::-1]
        older = rows[-1].seq if rows and qs.filter(leaf__seq__lt=rows[-1].seq).exists() else None
        return Page(rows, older, rows[0].seq if rows and more_newer else None)
    qs_page = qs.filter(leaf__seq__lt=before) if before is not None else qs
    rows = list(qs_page.order_by(seq.desc())[: limit + 1])
    more_older = len(rows) > limit
    rows = rows[:limit]
    newer = None
    if before is not None and rows and qs.filter(leaf__seq__gt=rows[0].seq).exists():
        newer = rows[0].seq
    return Page(rows, rows[-1].seq if rows and more_older else None, newer)


def entries_for_export(f: LogFilter, *, tree_size: int, chunk: int = 1000) -> Iterator[LogEntry]:
    """Matching entries below `tree_size` in log order, read in keyset chunks."""
    qs = entries_matching(f).filter(leaf__seq__lt=tree_size).order_by(_seq_order(f).asc())
    last = -1
    while True:
        rows = list(qs.filter(leaf__seq__gt=last)[:chunk])
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1].seq or 0  # filtered on leaf__seq: never None here


@dataclass(frozen=True)
class Estimate:
    count: int
    capped: bool  # True: there are at least `count`, maybe more


def estimate_count(f: LogFilter, *, tree_size: int) -> Estimate:
    """How many entries an export will hold, counting at most COUNT_CAP rows."""
    qs = entries_matching(f).filter(leaf__seq__lt=tree_size)
    if f.is_empty():
        # Everything but the audit entries: the head's size is a cheap upper bound.
        return Estimate(tree_size, False) if tree_size <= COUNT_CAP else Estimate(COUNT_CAP, True)
    n = qs.order_by()[: COUNT_CAP + 1].count()
    return Estimate(min(n, COUNT_CAP), n > COUNT_CAP)


def entry_body(entry: LogEntry) -> dict[str, Any]:
    """The entry's canonical JSON parsed (the exact hashed text stays in entry.entry)."""
    try:
        body = json.loads(entry.entry)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def notice_for(body: dict[str, Any]) -> Notice | None:
    """The exact notice text the person was shown, when the entry names one by its hash."""
    sha = body.get("noticeSha256")
    if not isinstance(sha, str) or not sha:
        return None
    return Notice.objects.filter(sha256=sha).first()


@dataclass(frozen=True)
class ConsentAtDecision:
    """The consent a decision named and what its history looked like at that moment."""

    lineage: UUID
    consent_id: UUID | None
    version: int | None
    last_event: LogEntry | None  # the lineage's latest consent event before the decision
    decision_seq: int | None = None  # for a delivery: the decision it carried out


def consent_at_decision(entry: LogEntry) -> ConsentAtDecision | None:
    """For a decision or a delivery: the consent that decided it and its state at that moment."""
    is_flow = entry.event_type.startswith("flow.")
    if (entry.event_type not in DECISIONS and not is_flow) or entry.consent_lineage is None:
        return None
    last_event = (
        LogEntry.objects.filter(consent_lineage=entry.consent_lineage, leaf__seq__lt=entry.seq)
        .exclude(event_type__in=(*DECISIONS, EventType.AUDIT_QUERY))
        .exclude(event_type__startswith="flow.")
        .order_by("-leaf__seq")
        .first()
    )
    body = entry_body(entry)
    decision_seq = None
    if is_flow:
        decision_entry = _decision_of_flow(body)
        decision_seq = decision_entry.seq if decision_entry else None
        body = entry_body(decision_entry) if decision_entry else {}
    version = None
    decision = body.get("decision") or {}
    if isinstance(decision.get("consent"), dict):
        version = decision["consent"].get("version")
    return ConsentAtDecision(
        entry.consent_lineage,
        entry.consent_id,
        version,
        last_event,
        decision_seq if isinstance(decision_seq, int) else None,
    )


def _decision_of_flow(body: dict[str, Any]) -> LogEntry | None:
    """The integrated decision entry a flow entry names: v2 by entry id, checked against the
    leaf hash the flow entry holds; v1 by leaf index."""
    entry_id, leaf = body.get("decisionEntry"), body.get("decisionLeafHash")
    if isinstance(entry_id, int) and isinstance(leaf, str):
        found = LogEntry.objects.integrated().filter(id=entry_id).first()
        if found is not None and b64(bytes(found.leaf_hash)) == leaf:
            return found
        return None
    seq = body.get("decisionSeq")
    return LogEntry.objects.filter(leaf__seq=seq).first() if isinstance(seq, int) else None


@dataclass(frozen=True)
class ConsentHistory:
    lineage: UUID
    versions: list[Consent]
    events: list[LogEntry]  # consent events, newest first
    decisions: list[LogEntry]  # decisions and flows under this consent, newest first
    more_decisions: bool


def consent_history(consent: UUID, *, decisions_limit: int = 100) -> ConsentHistory | None:
    """Every version of a consent and its whole log history (`consent` is an id or lineage)."""
    lineage = (
        Consent.objects.filter(Q(id=consent) | Q(lineage=consent))
        .values_list("lineage", flat=True)
        .first()
    )
    if lineage is None:
        lineage = (
            LogEntry.objects.filter(Q(consent_id=consent) | Q(consent_lineage=consent))
            .values_list("consent_lineage", flat=True)
            .first()
        )
    if lineage is None:
        return None
    versions = list(Consent.objects.filter(lineage=lineage).order_by("version"))
    in_lineage = LogEntry.objects.integrated().filter(consent_lineage=lineage)
    flows = Q(event_type__in=DECISIONS) | Q(event_type__startswith="flow.")
    events = list(in_lineage.exclude(flows).order_by("-leaf__seq"))
    decisions = list(in_lineage.filter(flows).order_by(SEQ_SORTED.desc())[: decisions_limit + 1])
    return ConsentHistory(
        lineage,
        versions,
        events,
        decisions[:decisions_limit],
        len(decisions) > decisions_limit,
    )


# --- statistics ---------------------------------------------------------------------------

CONSENT_STAT_EVENTS = {
    "granted": (EventType.CONSENT_GRANTED.value, EventType.CONSENT_APPROVED.value),
    "withdrawn": (EventType.CONSENT_WITHDRAWN.value,),
    "expired": (EventType.CONSENT_EXPIRED.value,),
}


def _bucket(f: LogFilter) -> tuple[str, Any]:
    if f.time_from and f.time_to and (f.time_to - f.time_from).days <= 62:
        return "day", TruncDay
    if f.time_from and f.time_to and (f.time_to - f.time_from).days > 3660:
        return "year", TruncYear
    return "month", TruncMonth


def _label(value: datetime | None, unit: str) -> str:
    if value is None:
        return "?"
    if unit == "day":
        return value.strftime("%Y-%m-%d")
    if unit == "year":
        return value.strftime("%Y")
    return value.strftime("%Y-%m")


@dataclass(frozen=True)
class Statistics:
    unit: str  # day | month | year
    periods: list[str]
    consents: dict[str, dict[str, dict[str, int]]]  # kind -> series -> period -> count
    decisions: list[tuple[str, str, int, int]]  # (oid, name, permit, deny)
    requests: list[tuple[str, str, int]]  # (oid, name, consent requests)


def _provider_names(oids: set[str]) -> dict[str, str]:
    return dict(
        Provider.objects.filter(organisation_id__in=oids).values_list("organisation_id", "name")
    )


def _whole_days(f: LogFilter, zone: zoneinfo.ZoneInfo) -> bool:
    """True if the filter's time range starts and ends at midnight in `zone` (or is open)."""
    return all(t is None or t.astimezone(zone).time() == time(0) for t in (f.time_from, f.time_to))


def _statistics_source(f: LogFilter) -> tuple[QuerySet[Any], str, Any]:
    """What the statistics group: the daily counts (LogDailyCount, one row per day and
    columns) when the filter allows, else the integrated entries themselves (a subject's
    statistics, or a range that does not start and end at midnight). Returns the rows, the
    field that holds their time and the expression that counts them."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    if f.subject_id is None and _whole_days(f, zone):
        counts: QuerySet[Any] = LogDailyCount.objects.all()
        if f.time_from:
            counts = counts.filter(day__gte=f.time_from.astimezone(zone).date())
        if f.time_to:
            counts = counts.filter(day__lt=f.time_to.astimezone(zone).date())
        if f.provider:
            counts = counts.filter(recipient=f.provider)
        return counts, "day", Sum("entries")
    base: QuerySet[Any] = LogEntry.objects.integrated()
    if f.time_from:
        base = base.filter(occurred_at__gte=f.time_from)
    if f.time_to:
        base = base.filter(occurred_at__lt=f.time_to)
    if f.provider:
        base = base.filter(recipient=f.provider)
    if f.subject_id:
        base = base.filter(subject_id=f.subject_id)
    return base, "occurred_at", Count("id")


def statistics(f: LogFilter) -> Statistics:
    """Consent events per kind over time, decisions and consent requests per provider.

    Grouped in the database: over the daily counts the integrator keeps (so a year of a
    national log is a few hundred thousand rows, not hundreds of millions), or over the
    entries where the filter names a subject or a time of day. The filter's time range,
    kind and provider apply (the event types are fixed by each chart).
    """
    base, time_field, counted = _statistics_source(f)
    unit, trunc = _bucket(f)
    consents: dict[str, dict[str, dict[str, int]]] = {}
    periods: set[str] = set()
    kinds = base if not f.kind else base.filter(kind=f.kind)
    for series, types in CONSENT_STAT_EVENTS.items():
        rows = (
            kinds.filter(event_type__in=types)
            .annotate(period=trunc(time_field))
            .values("kind", "period")
            .annotate(n=counted)
            .order_by()
        )
        for row in rows:
            label = _label(row["period"], unit)
            periods.add(label)
            per_kind = consents.setdefault(row["kind"], {s: {} for s in CONSENT_STAT_EVENTS})
            per_kind[series][label] = per_kind[series].get(label, 0) + row["n"]
    decision_rows = (
        base.filter(event_type__in=DECISIONS)
        .values("recipient", "outcome")
        .annotate(n=counted)
        .order_by()
    )
    per_provider: dict[str, list[int]] = {}
    for row in decision_rows:
        counts = per_provider.setdefault(row["recipient"], [0, 0])
        counts[0 if row["outcome"] == "permit" else 1] += row["n"]
    request_rows = (
        base.filter(event_type=EventType.CONSENT_REQUESTED)
        .values("recipient")
        .annotate(n=counted)
        .order_by()
    )
    requests = {row["recipient"]: row["n"] for row in request_rows}
    names = _provider_names(set(per_provider) | set(requests))
    return Statistics(
        unit=unit,
        periods=sorted(periods),
        consents={k: consents[k] for k in sorted(consents)},
        decisions=sorted(
            ((oid, names.get(oid, oid), p, d) for oid, (p, d) in per_provider.items()),
            key=lambda r: (-(r[2] + r[3]), r[0]),
        ),
        requests=sorted(
            ((oid, names.get(oid, oid), n) for oid, n in requests.items()),
            key=lambda r: (-r[2], r[0]),
        ),
    )


# --- witnesses ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WitnessedCheckpoint:
    """One checkpoint size and the witnesses that cosigned it (newest sizes first)."""

    tree_size: int
    root_hash: bytes
    witnesses: list[tuple[str, datetime]]  # (label or name, when it cosigned)

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.root_hash).decode("ascii")


def witnessed_checkpoints(*, limit: int = 20) -> list[WitnessedCheckpoint]:
    """Which witnesses vouched for which size: the newest `limit` cosigned sizes."""
    sizes = list(
        Cosignature.objects.order_by("-tree_size")
        .values_list("tree_size", flat=True)
        .distinct()[:limit]
    )
    rows: dict[int, WitnessedCheckpoint] = {}
    for cosig in (
        Cosignature.objects.filter(tree_size__in=sizes)
        .select_related("witness")
        .order_by("-tree_size", "witness__name", "timestamp")
    ):
        row = rows.setdefault(
            cosig.tree_size, WitnessedCheckpoint(cosig.tree_size, bytes(cosig.root_hash), [])
        )
        who = cosig.witness.label or cosig.witness.name
        if all(name != who for name, _ in row.witnesses):
            row.witnesses.append((who, datetime.fromtimestamp(cosig.timestamp, tz=UTC)))
    return list(rows.values())
