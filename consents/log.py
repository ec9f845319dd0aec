"""The tamper-evident consent log: an RFC 6962 Merkle tree kept in the database.

Sequence, then integrate (the design of Trillian's PostgreSQL storage and of Tessera):

* `log_append` runs in the caller's transaction (so a change and its log entry commit together
  or not at all) and only INSERTs the entry: no global lock, no tree hashing. Its entry id is
  not its place in the tree.
* `log_integrate`, run by one integrator at a time (`manage.py log_integrator`), takes the
  committed entries that have no leaf yet, gives them contiguous leaf indexes (LogLeaf rows,
  unique on both the index and the entry), writes the complete-subtree nodes in bulk, and
  records the new size, right edge and root (a LogBatch row) with a signed tree head, all in
  one transaction. Nothing is updated, so the service's database role needs only SELECT and
  INSERT on the log tables.

Which entries are committed: the integrator takes the entries its snapshot sees (so
committed ones) that have no leaf yet. Where to look: on PostgreSQL every entry row carries
the id of the transaction that inserted it (`txid`, xid8, filled by the database). A
transaction id below the xmin of the integrator's snapshot belongs to a transaction that has
ended, so its entries are all visible to that snapshot or never will be; the next scan starts
at that xmin (the horizon), so an entry that commits after a later-inserted one is neither
skipped nor taken twice. On SQLite writers are serialised (transactions begin IMMEDIATE), so
every committed entry id is above the last integrated one.

Roots and proofs need O(log n) reads at any size.
"""

import base64
import contextlib
import logging
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import rfc8785
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, router, transaction
from django.db.models import Count, F, Field, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from . import keys, merkle, treehead
from .events import EventType
from .models import LogBatch, LogDailyCount, LogEntry, LogLeaf, LogNode, TreeHead

logger = logging.getLogger(__name__)

ENTRY_VERSION = 2
"""v2: no `seq` inside the hashed entry (the leaf index is given later), and the searchable
columns under `about`. v1 entries (with `seq`) stay readable and verifiable."""

#: Top-level keys of a v2 entry that a body may not use.
RESERVED_KEYS = frozenset({"v", "seq", "type", "time", "subject", "actor", "about"})

#: Entries one integration batch takes at most.
INTEGRATE_BATCH = 5000

#: PostgreSQL advisory lock key of the integrator ("tahtolog" in ASCII).
INTEGRATOR_LOCK = 0x746168746F6C6F67


def iso(dt: datetime) -> str:
    """UTC timestamp with microseconds and a Z, as every log entry writes time."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_key(level: int, index: int) -> int:
    return index << 6 | level


def _jsonable(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    return value


# --- The entry format -------------------------------------------------------------------


def person_ref(person_id: UUID | None) -> str | None:
    """How an entry names a person. Every person identifier in an entry goes through here.

    Today the person's pseudonymous id as text; turning it into a keyed pseudonym (for
    crypto-shredding) changes this function and a key table, not the entry format.
    """
    return None if person_id is None else str(person_id)


class EntryFormatError(ValueError):
    """A stored entry is not a log entry this code can read; the message says what is wrong."""


def person_id_from_ref(ref: object, *, field: str) -> UUID | None:
    """The person id a `person_ref` names (the column value); ValueError saying where."""
    if ref is None:
        return None
    if not isinstance(ref, str):
        raise EntryFormatError(f"entry field {field!r} must be a string, got {type(ref).__name__}")
    try:
        return UUID(ref)
    except ValueError:
        raise EntryFormatError(
            f"entry field {field!r} is not a person reference: {ref!r}"
        ) from None


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise EntryFormatError(f"entry field 'time' must be a string, got {type(value).__name__}")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise EntryFormatError(
            f"entry field 'time' must be UTC with microseconds and a Z, got {value!r}"
        ) from None


def _uuid_field(about: dict[str, Any], key: str) -> UUID | None:
    value = about.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EntryFormatError(f"entry field 'about.{key}' must be a string")
    try:
        return UUID(value)
    except ValueError:
        raise EntryFormatError(f"entry field 'about.{key}' is not a UUID: {value!r}") from None


def _str_field(about: dict[str, Any], key: str) -> str:
    value = about.get(key, "")
    if not isinstance(value, str):
        raise EntryFormatError(f"entry field 'about.{key}' must be a string")
    return value


# --- Columns of v1 entries (derived from the body) -----------------------------------

#: Lengths of the searchable text columns (LogEntry's max_length).
_COLUMN_LENGTHS = {"kind": 32, "recipient": 128, "purpose": 64, "outcome": 8}


def _uuid(value: Any, where: str) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(str(value))
    except ValueError:
        raise EntryFormatError(f"{where} is not a UUID: {value!r}") from None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _consent_recipient(consent: dict[str, Any]) -> str:
    """Who a consent lets data go to: its scope's recipient or biobank, else the requester."""
    scope = _dict(consent.get("scope"))
    for key in ("recipient", "biobank"):
        value = scope.get(key)
        if isinstance(value, dict):
            return str(value.get("organisation") or value.get("providerKind") or "")
    return str(consent.get("requestedBy") or "")


def _decision_recipient(recipient: dict[str, Any]) -> str:
    if recipient.get("organisation") or recipient.get("providerKind"):
        return str(recipient.get("organisation") or recipient.get("providerKind"))
    return "kanta-phr" if recipient.get("kantaPhr") else ""


def _v1_columns(entry_obj: dict[str, Any], columns: dict[str, Any]) -> dict[str, Any]:
    """The remaining columns of a v1 entry (written before `about`), from its body's shape."""
    event_type = columns["event_type"]
    columns.update(
        consent_id=None, consent_lineage=None, kind="", recipient="", purpose="", outcome=""
    )
    family = event_type.split(".", 1)[0]
    consent: dict[str, Any] = {}
    if family == "consent":
        consent = _dict(entry_obj.get("consent"))
        columns["kind"] = str(consent.get("kind") or "")
        columns["recipient"] = _consent_recipient(consent)
    elif family == "decision":
        decision = _dict(entry_obj.get("decision"))
        consent = _dict(decision.get("consent"))
        columns["kind"] = str(entry_obj.get("flow") or "")
        columns["recipient"] = _decision_recipient(_dict(entry_obj.get("recipient")))
        columns["purpose"] = str(entry_obj.get("purpose") or "")
        columns["outcome"] = str(decision.get("outcome") or "")
    elif family == "flow":
        consent = _dict(entry_obj.get("consent"))
        columns["kind"] = str(entry_obj.get("connector") or "")
        columns["recipient"] = str(entry_obj.get("recipient") or "")
        columns["outcome"] = "sent" if event_type == EventType.DATA_DELIVERED else "failed"
    elif family == "audit" and event_type == EventType.AUDIT_INTEGRITY:
        columns["outcome"] = "ok" if _dict(entry_obj.get("check")).get("ok") is True else "alarm"
    columns["consent_id"] = _uuid(consent.get("id"), "consent id")
    columns["consent_lineage"] = _uuid(consent.get("lineage"), "consent lineage")
    for name, length in _COLUMN_LENGTHS.items():
        columns[name] = columns[name][:length]
    return columns


def entry_columns(entry_obj: dict[str, Any]) -> dict[str, Any]:
    """The searchable columns of a log entry, derived from the hashed entry alone.

    `log_append` fills the columns with exactly this, so a checker can recompute them from
    the entry text and compare. A v2 entry names them under `about`; a v1 entry (written before
    `about`) yields them from its body's shape. Raises EntryFormatError (a ValueError)
    saying which field is wrong.
    """
    if not isinstance(entry_obj, dict):
        raise EntryFormatError(f"a log entry is a JSON object, got {type(entry_obj).__name__}")
    version = entry_obj.get("v")
    if version not in (1, 2):
        raise EntryFormatError(f"unknown log entry version {version!r} (known: 1, 2)")
    event_type = entry_obj.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise EntryFormatError("entry field 'type' must be a non-empty string")
    columns: dict[str, Any] = {
        "event_type": event_type,
        "occurred_at": _parse_time(entry_obj.get("time")),
        "subject_id": person_id_from_ref(entry_obj.get("subject"), field="subject"),
        "actor_id": person_id_from_ref(entry_obj.get("actor"), field="actor"),
    }
    if version == 1:
        return _v1_columns(entry_obj, columns)
    about = entry_obj.get("about", {})
    if not isinstance(about, dict):
        raise EntryFormatError("entry field 'about' must be an object")
    columns.update(
        consent_id=_uuid_field(about, "consent"),
        consent_lineage=_uuid_field(about, "lineage"),
        kind=_str_field(about, "kind"),
        recipient=_str_field(about, "recipient"),
        purpose=_str_field(about, "purpose"),
        outcome=_str_field(about, "outcome"),
    )
    return columns


def entry_v2(
    *,
    event_type: str,
    occurred_at: datetime,
    subject_id: UUID | None,
    actor_id: UUID | None,
    about: dict[str, Any],
    body: dict[str, Any] | None,
) -> dict[str, Any]:
    """The JSON object of a v2 entry (before canonicalisation)."""
    clash = sorted(RESERVED_KEYS & set(body or {}))
    if clash:
        raise EntryFormatError(f"log entry body may not use the reserved keys {clash}")
    about = {k: v for k, v in about.items() if v not in (None, "")}
    obj: dict[str, Any] = _jsonable(
        {
            "v": ENTRY_VERSION,
            "type": event_type,
            "time": occurred_at,
            "subject": person_ref(subject_id),
            "actor": person_ref(actor_id),
            "about": about or None,
            **(body or {}),
        }
    )
    return obj


def log_append(
    *,
    event_type: EventType | str,
    occurred_at: datetime | None = None,
    subject_id: UUID | None = None,
    actor_id: UUID | None = None,
    consent_id: UUID | None = None,
    consent_lineage: UUID | None = None,
    kind: str = "",
    recipient: str = "",
    purpose: str = "",
    outcome: str = "",
    body: dict[str, Any] | None = None,
) -> LogEntry:
    """Record one entry; must run inside the transaction of the change it records.

    One INSERT, no lock: the entry gets its leaf index when the integrator takes it after
    commit (the returned row's `seq` is None until then).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("log_append must run inside the transaction of the change it logs")
    entry_obj = entry_v2(
        event_type=str(event_type),
        occurred_at=occurred_at or timezone.now(),
        subject_id=subject_id,
        actor_id=actor_id,
        about={
            "consent": consent_id,
            "lineage": consent_lineage,
            "kind": kind,
            "recipient": recipient,
            "purpose": purpose,
            "outcome": outcome,
        },
        body=body,
    )
    entry_bytes = rfc8785.dumps(entry_obj)
    columns = entry_columns(entry_obj)
    for name in ("kind", "recipient", "purpose", "outcome"):
        _check_column(name, columns[name])
    values = {
        **columns,
        "entry": entry_bytes.decode("utf-8"),
        "leaf_hash": merkle.leaf_hash(entry_bytes),
    }
    row = LogEntry(**values)
    # One plain INSERT (the ORM's save() costs as much again as the statement itself).
    fields = [_FIELDS[name] for name in _COLUMNS]
    params = [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields]
    with connection.cursor() as cur:
        cur.execute(_insert_sql(), params)
        row.id = cur.fetchone()[0]
    row._state.adding = False
    row._state.db = connection.alias
    row.__dict__["leaf_seq"] = None  # pending integration (spares `seq` a query)
    return row


def _check_column(name: str, value: str) -> None:
    """A searchable text column must fit its column (and PostgreSQL text holds no NUL)."""
    limit = _FIELDS[name].max_length
    if limit is not None and len(value) > limit:
        raise EntryFormatError(
            f"log entry {name} is longer than {limit} characters: {value[:20]!r}…"
        )
    if "\x00" in value:
        raise EntryFormatError(f"log entry {name} contains a NUL character")


#: The searchable columns: each is derived from the hashed entry by `entry_columns`, and the
#: integrity check compares every stored row against that derivation.
SEARCH_COLUMNS = (
    "event_type",
    "occurred_at",
    "subject_id",
    "actor_id",
    "consent_id",
    "consent_lineage",
    "kind",
    "recipient",
    "purpose",
    "outcome",
)
_COLUMNS = (*SEARCH_COLUMNS, "entry", "leaf_hash")


_FIELDS: "dict[str, Field[Any, Any]]" = {f.name: f for f in LogEntry._meta.concrete_fields}


def _insert_sql() -> str:
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(LogEntry._meta.db_table)} "  # noqa: S608 - names of our own table
        f"({', '.join(quote(c) for c in _COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) RETURNING {quote('id')}"
    )


# --- Integrating ------------------------------------------------------------------------

#: Visible (so committed) entries without a leaf from the horizon on, in the order they will
#: be integrated, and the xmin of the same snapshot (one statement: one snapshot). Every
#: transaction id below that xmin has ended, so every entry it will ever have is visible now:
#: the next scan may start there. Entries of transactions still running are simply not
#: visible yet, and are found by a later scan (their ids are at least xmin).
_PG_CANDIDATES = """
WITH snap AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
SELECT snap.xmin::text, c.id, c.leaf_hash, c.txid::text
FROM snap LEFT JOIN LATERAL (
    SELECT e.id, e.leaf_hash, e.txid FROM consents_logentry e
    WHERE e.txid >= %s::text::xid8
      AND NOT EXISTS (SELECT 1 FROM consents_logleaf l WHERE l.entry_id = e.id)
    ORDER BY e.txid, e.id
    LIMIT %s
) c ON true
"""


def _candidates(horizon: int, limit: int) -> tuple[list[tuple[int, bytes]], int]:
    """The next committed entries to integrate, and the horizon once they are integrated."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(_PG_CANDIDATES, [str(horizon), limit])
            fetched = cur.fetchall()
        xmin = int(fetched[0][0])
        rows = [(int(r[1]), bytes(r[2])) for r in fetched if r[1] is not None]
        if len(rows) < limit:
            return rows, max(horizon, xmin)
        # Cut by the limit: entries of the last transaction taken may remain.
        return rows, max(horizon, min(xmin, int(fetched[-1][3])))
    rows = [
        (entry_id, bytes(leaf))
        for entry_id, leaf in LogEntry.objects.filter(id__gt=horizon, leaf__isnull=True)
        .order_by("id")
        .values_list("id", "leaf_hash")[:limit]
    ]
    return rows, rows[-1][0] if rows else horizon


@dataclass(frozen=True)
class BatchResult:
    size: int
    entries: int


def _integrate_batch(limit: int, pause: Callable[[int], None] | None = None) -> BatchResult:
    """Integrate up to `limit` committed entries in one transaction; sign the new head."""
    with transaction.atomic():
        head = LogBatch.objects.order_by("-size").first()
        size = head.size if head else 0
        frontier = [bytes.fromhex(h) for h in head.frontier] if head else []
        rows, horizon = _candidates(head.horizon if head else 0, limit)
        if not rows:
            return BatchResult(size, 0)
        leaves: list[LogLeaf] = []
        nodes: list[LogNode] = []
        for offset, (entry_id, leaf) in enumerate(rows):
            seq = size + offset
            frontier, completed = merkle.frontier_append(frontier, seq, leaf)
            leaves.append(LogLeaf(seq=seq, entry_id=entry_id, leaf_hash=leaf))
            nodes.extend(LogNode(key=node_key(lv, ix), hash=h) for lv, ix, h in completed)
        LogLeaf.objects.bulk_create(leaves, batch_size=INTEGRATE_BATCH)
        daily_counts_add(first=size, end=size + len(rows))
        if pause is not None:  # tests: stop here to kill the integrator mid-batch
            pause(len(leaves))
        LogNode.objects.bulk_create(nodes, batch_size=INTEGRATE_BATCH)
        new_size = size + len(rows)
        root = merkle.frontier_root(frontier, new_size)
        now = timezone.now()
        LogBatch.objects.create(
            size=new_size,
            entries=len(rows),
            frontier=[h.hex() for h in frontier],
            root_hash=root,
            horizon=horizon,
            integrated_at=now,
        )
        _sign(new_size, root, now)
    return BatchResult(new_size, len(rows))


#: The key columns of LogDailyCount, in its unique constraint's order.
_DAILY_KEY = ("day", "event_type", "kind", "recipient", "outcome")


def _daily_groups(entries: QuerySet[LogEntry]) -> QuerySet[LogEntry, tuple[Any, ...]]:
    """The entries grouped as LogDailyCount counts them: the key (the day in
    settings.TIME_ZONE first) and `n`, how many. The one grouping of the integrator and the
    integrity check."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return (
        entries.annotate(day=TruncDate("occurred_at", tzinfo=zone))
        .values_list(*_DAILY_KEY)
        .annotate(n=Count("id"))
        .order_by()
    )


def daily_counts_add(*, first: int, end: int) -> int:
    """Add the entries with leaf index first … end-1 to LogDailyCount (in the caller's
    transaction: the integrator's batch). Returns how many count rows it touched."""
    groups = _daily_groups(
        LogEntry._base_manager.filter(leaf__seq__gte=first, leaf__seq__lt=end)
    ).order_by(*_DAILY_KEY)
    rows = [list(row) for row in groups]
    if not rows:
        return 0
    table = LogDailyCount._meta.db_table
    columns = ", ".join(_DAILY_KEY)
    with connection.cursor() as cur:
        # One upsert per group (PostgreSQL and SQLite both speak ON CONFLICT): the one
        # integrator is the only writer, so the increments never race.
        cur.executemany(
            f"INSERT INTO {table} ({columns}, entries) VALUES (%s, %s, %s, %s, %s, %s) "  # noqa: S608 - names are the model's own
            f"ON CONFLICT ({columns}) DO UPDATE SET entries = {table}.entries + excluded.entries",
            rows,
        )
    return len(rows)


@dataclass(frozen=True)
class DailyCountDifference:
    """A LogDailyCount key whose stored count is not the number of integrated entries."""

    day: str  # ISO date, in settings.TIME_ZONE
    event_type: str
    kind: str
    recipient: str
    outcome: str
    counted: int  # integrated entries with this key
    stored: int  # LogDailyCount.entries, 0 when there is no row


@dataclass(frozen=True)
class DailyCountsComparison:
    """What one comparison of LogDailyCount with the integrated entries found."""

    compared: int  # LogDailyCount rows read (and compared)
    differences: list[DailyCountDifference]


def daily_counts_compare() -> DailyCountsComparison:
    """Recount the integrated entries as the integrator counts them and compare them with
    the LogDailyCount rows: how many rows were compared, and every key whose row is missing,
    extra or wrong, in key order.

    One statement: the recount, the stored rows and their number are read in one snapshot,
    so a batch integrated meanwhile (its leaves and counts commit together) is in all of
    them or in none. The number rides on every row it returns (a window over the groups),
    and the first group is returned even when it agrees, so that a log without differences
    still tells how many rows it compared.
    """
    counted_sql, counted_params = _daily_groups(
        LogEntry._base_manager.filter(leaf__isnull=False)
    ).query.sql_with_params()
    stored_sql, stored_params = (
        LogDailyCount.objects.values_list(*_DAILY_KEY, "entries").order_by().query.sql_with_params()
    )
    key = ", ".join(_DAILY_KEY)
    sql = (
        f"SELECT {key}, counted, stored, compared FROM ("  # noqa: S608 - the model's own names
        f"SELECT {key}, SUM(counted) AS counted, SUM(stored) AS stored, "
        "SUM(SUM(is_row)) OVER () AS compared, "
        f"ROW_NUMBER() OVER (ORDER BY {key}) AS place FROM ("
        f"SELECT {key}, n AS counted, 0 AS stored, 0 AS is_row FROM ({counted_sql}) c "
        f"UNION ALL SELECT {key}, 0 AS counted, entries AS stored, 1 AS is_row "
        f"FROM ({stored_sql}) s"
        f") u GROUP BY {key}"
        f") g WHERE counted <> stored OR place = 1 ORDER BY {key}"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*counted_params, *stored_params])
        rows = cur.fetchall()
    differences = [
        DailyCountDifference(
            day=day.isoformat() if hasattr(day, "isoformat") else str(day),
            event_type=event_type,
            kind=kind,
            recipient=recipient,
            outcome=outcome,
            counted=int(counted),
            stored=int(stored),
        )
        for day, event_type, kind, recipient, outcome, counted, stored, _ in rows
        if int(counted) != int(stored)
    ]
    return DailyCountsComparison(compared=int(rows[0][-1]) if rows else 0, differences=differences)


_local_lock = threading.Lock()


@contextlib.contextmanager
def _integrator_lock() -> Iterator[bool]:
    """Hold the one-integrator guard if free: a PostgreSQL advisory lock (session level, so
    it goes with a killed process's connection); on SQLite, where writers are serialised
    anyway, a lock within the process."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [INTEGRATOR_LOCK])
            got = bool(cur.fetchone()[0])
        try:
            yield got
        finally:
            if got:
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", [INTEGRATOR_LOCK])
        return
    got = _local_lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            _local_lock.release()


def log_integrate(
    *,
    batch: int = INTEGRATE_BATCH,
    max_batches: int | None = None,
    pause: Callable[[int], None] | None = None,
) -> int:
    """Integrate every committed entry not yet in the tree; return how many were integrated.

    Returns 0 at once when another integrator holds the guard. `pause` is for tests only.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    done = 0
    with _integrator_lock() as got:
        if not got:
            return 0
        batches = 0
        while max_batches is None or batches < max_batches:
            result = _integrate_batch(batch, pause)
            batches += 1
            done += result.entries
            if result.entries < batch:
                break
    return done


def log_integrator_run(*, poll: float = 0.1, stop: Callable[[], bool] | None = None) -> None:
    """Integrate forever (until `stop()`): the merge delay is at most `poll` + one batch."""
    while stop is None or not stop():
        try:
            done = log_integrate()
        except DatabaseError:  # the database went away or refused a batch: nothing was lost
            logger.exception("log integration failed; retrying in %s s", 10 * poll)
            connection.close()  # a fresh connection next time
            time.sleep(10 * poll)
            continue
        if done:
            logger.info("integrated %d log entries; tree size %d", done, log_head().size)
        else:
            time.sleep(poll)


# --- Reading the tree -------------------------------------------------------------------


def _perfect_from_db() -> Callable[[int, int], bytes]:
    cache: dict[tuple[int, int], bytes] = {}

    def perfect(level: int, index: int) -> bytes:
        if (level, index) not in cache:
            if level == 0:
                value = LogLeaf.objects.values_list("leaf_hash", flat=True).get(seq=index)
            else:
                value = LogNode.objects.values_list("hash", flat=True).get(
                    key=node_key(level, index)
                )
            cache[(level, index)] = bytes(value)
        return cache[(level, index)]

    return perfect


def subtree_hash_source() -> Callable[[int, int], bytes]:
    """MTH(D[start:end]) read from the stored complete subtrees."""
    return merkle.make_subtree_hash(_perfect_from_db())


@dataclass(frozen=True)
class Head:
    size: int
    root_hash: bytes


def log_head() -> Head:
    """The size and root after the newest integration batch."""
    head = LogBatch.objects.order_by("-size").values_list("size", "root_hash").first()
    if head is None:
        return Head(0, merkle.EMPTY_ROOT)
    return Head(head[0], bytes(head[1]))


class ProofError(ValueError):
    """A proof was asked for sizes or indexes the log does not have."""


def inclusion_proof(*, seq: int, tree_size: int) -> list[bytes]:
    current = log_head().size
    if not 0 < tree_size <= current:
        raise ProofError(f"tree_size must be between 1 and the log's size {current}")
    if not 0 <= seq < tree_size:
        raise ProofError(f"seq must be between 0 and tree_size - 1 ({tree_size - 1})")
    return merkle.inclusion_proof(seq, tree_size, subtree_hash_source())


def consistency_proof(*, first: int, second: int) -> list[bytes]:
    current = log_head().size
    if not 0 <= first <= second <= current:
        raise ProofError(f"need 0 <= first <= second <= the log's size {current}")
    return merkle.consistency_proof(first, second, subtree_hash_source())


def root_at(tree_size: int) -> bytes:
    """Root hash of the log as it was at `tree_size` entries."""
    current = log_head().size
    if not 0 <= tree_size <= current:
        raise ProofError(f"tree_size must be between 0 and the log's size {current}")
    return merkle.root_hash(subtree_hash_source(), tree_size)


def iter_integrated(start: int = 0, *, batch: int = 1000) -> Iterator[LogEntry]:
    """The integrated entries from leaf index `start` on, in leaf order, read in batches.

    Each row also carries `tree_leaf_hash`, the leaf hash its LogLeaf holds (checkers compare
    it with the entry's own)."""
    if start < 0 or batch < 1:
        raise ValueError(f"need start >= 0 and batch >= 1, got start={start}, batch={batch}")
    next_seq = start
    while True:
        rows = list(
            LogEntry.objects.filter(leaf__seq__gte=next_seq)
            .annotate(tree_leaf_hash=F("leaf__leaf_hash"))
            .order_by("leaf__seq")[:batch]
        )
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].seq
        assert last is not None  # filtered on seq, so every row is integrated
        next_seq = last + 1


@dataclass(frozen=True)
class EntryPlace:
    """Where an entry stands: its leaf index once integrated, None while pending."""

    entry_id: int
    leaf_hash: bytes
    seq: int | None

    @property
    def pending(self) -> bool:
        return self.seq is None


def entry_place(*, entry_id: int | None = None, leaf_hash: bytes | None = None) -> EntryPlace:
    """Look an entry up by its id, or an integrated one by its leaf hash.

    Raises LogEntry.DoesNotExist if there is none."""
    if (entry_id is None) == (leaf_hash is None):
        raise ValueError("give exactly one of entry_id and leaf_hash")
    if entry_id is not None:
        eid, leaf, seq = LogEntry.objects.values_list("id", "leaf_hash", "leaf__seq").get(
            id=entry_id
        )
        return EntryPlace(eid, bytes(leaf), seq)
    assert leaf_hash is not None
    found = LogLeaf.objects.filter(leaf_hash=leaf_hash).values_list("entry_id", "seq").first()
    if found is not None:
        return EntryPlace(found[0], leaf_hash, found[1])
    # Only integrated leaves are indexed by hash; a pending entry is found by its id.
    raise LogEntry.DoesNotExist(
        f"no integrated log entry has the leaf hash {b64(leaf_hash)} "
        "(an entry pending integration is found by its entry id)"
    )


# --- Signed tree heads ------------------------------------------------------------------


def _sign(size: int, root: bytes, now: datetime) -> TreeHead:
    key = keys.signing_key()
    timestamp_ms = int(now.timestamp() * 1000)
    signature = treehead.sign_tree_head(key.private_key, size, timestamp_ms, root)
    return TreeHead.objects.create(
        tree_size=size,
        timestamp_ms=timestamp_ms,
        root_hash=root,
        signature=signature,
        key_id=key.kid,
    )


def tree_head_sign(*, now: datetime | None = None) -> TreeHead:
    """Sign the current head, or return the head already signed at this size.

    The integrator signs every batch's head; this covers the empty log and heads signed
    before a key rotation.
    """
    head = log_head()
    existing = TreeHead.objects.filter(tree_size=head.size).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return _sign(head.size, head.root_hash, now or timezone.now())
    except IntegrityError:  # another process signed this size first: theirs stands
        # Read it where it was written: a replica serving this read may not hold it yet.
        return TreeHead.objects.db_manager(router.db_for_write(TreeHead)).get(tree_size=head.size)


def tree_head_json(head: TreeHead) -> dict[str, Any]:
    return treehead.tree_head_to_json(
        tree_size=head.tree_size,
        timestamp_ms=head.timestamp_ms,
        root_hash=bytes(head.root_hash),
        signature=bytes(head.signature),
        key_id=head.key_id,
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
