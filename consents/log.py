"""The tamper-evident consent log: an RFC 6962 Merkle tree kept in the database.

`log_append` adds a leaf in the caller's transaction (so a change and its log entry commit
together or not at all). Appends are serialised by a row lock on the single LogHead row;
each append writes the leaf, the O(1) amortised new complete-subtree nodes and the new
right edge (frontier), so roots and proofs need O(log n) reads at any size.
"""

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import rfc8785
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from . import keys, merkle, treehead
from .events import EventType
from .models import LogEntry, LogHead, LogNode, TreeHead

ENTRY_VERSION = 1


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
    """Append one entry; must run inside the transaction of the change it records."""
    if not connection.in_atomic_block:
        raise RuntimeError("log_append must run inside the transaction of the change it logs")
    occurred_at = occurred_at or timezone.now()
    # The row lock serialises appends; get_or_create covers a freshly flushed test database.
    head, _ = LogHead.objects.select_for_update().get_or_create(id=1)
    seq = head.size
    entry_obj = _jsonable(
        {
            "v": ENTRY_VERSION,
            "seq": seq,
            "type": str(event_type),
            "time": occurred_at,
            "subject": subject_id,
            "actor": actor_id,
            **(body or {}),
        }
    )
    entry_bytes = rfc8785.dumps(entry_obj)
    columns = entry_columns(entry_obj)
    given = {
        "event_type": str(event_type),
        "occurred_at": occurred_at,
        "subject_id": subject_id,
        "actor_id": actor_id,
        "consent_id": consent_id,
        "consent_lineage": consent_lineage,
        "kind": kind,
        "recipient": recipient,
        "purpose": purpose,
        "outcome": outcome,
    }
    # Every searchable column comes from the hashed entry; a caller whose columns say
    # something the entry does not would put unproven data in front of the regulator.
    differ = [name for name, value in given.items() if columns[name] != value]
    if differ:
        raise ValueError(
            "log_append: the columns "
            + ", ".join(f"{n}={given[n]!r} (the entry says {columns[n]!r})" for n in differ)
            + " are not what the hashed entry says"
        )
    leaf = merkle.leaf_hash(entry_bytes)
    frontier = [bytes.fromhex(h) for h in head.frontier]
    frontier, new_nodes = merkle.frontier_append(frontier, seq, leaf)
    row = LogEntry.objects.create(
        seq=seq, entry=entry_bytes.decode("utf-8"), leaf_hash=leaf, **columns
    )
    if new_nodes:
        LogNode.objects.bulk_create(
            [LogNode(key=node_key(level, index), hash=h) for level, index, h in new_nodes]
        )
    head.size = seq + 1
    head.frontier = [h.hex() for h in frontier]
    head.save(update_fields=["size", "frontier"])
    return row


# --- Columns derived from the entry ------------------------------------------------------

#: Lengths of the searchable text columns (LogEntry's max_length).
_COLUMN_LENGTHS = {"kind": 32, "recipient": 128, "purpose": 64, "outcome": 8}


class EntryFormatError(ValueError):
    """A stored entry is not a log entry this code can read; the message says what is wrong."""


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


def entry_columns(entry_obj: dict[str, Any]) -> dict[str, Any]:
    """Every searchable column of a log entry, derived from the hashed entry alone.

    The one derivation: `log_append` fills the columns with it and `verify_log` checks every
    stored row against it, so search, drill-down, statistics and export show only what the
    signed tree proves. Raises EntryFormatError for an entry it cannot read.
    """
    if not isinstance(entry_obj, dict):
        raise EntryFormatError("the entry is not a JSON object")
    event_type = entry_obj.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise EntryFormatError("the entry has no event type")
    time = entry_obj.get("time")
    try:
        occurred_at = datetime.strptime(str(time), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise EntryFormatError(f"the entry's time {time!r} is not a UTC timestamp") from None
    columns: dict[str, Any] = {
        "event_type": event_type,
        "occurred_at": occurred_at,
        "subject_id": _uuid(entry_obj.get("subject"), "subject"),
        "actor_id": _uuid(entry_obj.get("actor"), "actor"),
        "consent_id": None,
        "consent_lineage": None,
        "kind": "",
        "recipient": "",
        "purpose": "",
        "outcome": "",
    }
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


# --- Reading the tree -------------------------------------------------------------------


def _perfect_from_db() -> Callable[[int, int], bytes]:
    cache: dict[tuple[int, int], bytes] = {}

    def perfect(level: int, index: int) -> bytes:
        if (level, index) not in cache:
            if level == 0:
                value = LogEntry.objects.values_list("leaf_hash", flat=True).get(seq=index)
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


def _current_head() -> LogHead:
    return LogHead.objects.filter(id=1).first() or LogHead(id=1, size=0, frontier=[])


def log_head() -> Head:
    """The current size and root, computed from the stored right edge."""
    head = _current_head()
    frontier = [bytes.fromhex(h) for h in head.frontier]
    return Head(head.size, merkle.frontier_root(frontier, head.size))


def iter_integrated(*, start: int = 0, batch: int = 2000) -> Iterator[LogEntry]:
    """Every integrated entry from leaf index `start` on, in leaf order, read in batches."""
    last = start - 1
    while True:
        rows = list(LogEntry.objects.filter(seq__gt=last).order_by("seq")[:batch])
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].seq


class ProofError(ValueError):
    """A proof was asked for sizes or indexes the log does not have."""


def inclusion_proof(*, seq: int, tree_size: int) -> list[bytes]:
    current = _current_head().size
    if not 0 < tree_size <= current:
        raise ProofError(f"tree_size must be between 1 and the log's size {current}")
    if not 0 <= seq < tree_size:
        raise ProofError(f"seq must be between 0 and tree_size - 1 ({tree_size - 1})")
    return merkle.inclusion_proof(seq, tree_size, subtree_hash_source())


def consistency_proof(*, first: int, second: int) -> list[bytes]:
    current = _current_head().size
    if not 0 <= first <= second <= current:
        raise ProofError(f"need 0 <= first <= second <= the log's size {current}")
    return merkle.consistency_proof(first, second, subtree_hash_source())


def root_at(tree_size: int) -> bytes:
    """Root hash of the log as it was at `tree_size` entries."""
    current = _current_head().size
    if not 0 <= tree_size <= current:
        raise ProofError(f"tree_size must be between 0 and the log's size {current}")
    return merkle.root_hash(subtree_hash_source(), tree_size)


def tree_head_sign(*, now: datetime | None = None) -> TreeHead:
    """Sign the current head, or return the head already signed at this size."""
    head = log_head()
    existing = TreeHead.objects.filter(tree_size=head.size).first()
    if existing is not None:
        return existing
    key = keys.signing_key()
    timestamp_ms = int((now or timezone.now()).timestamp() * 1000)
    signature = treehead.sign_tree_head(key.private_key, head.size, timestamp_ms, head.root_hash)
    try:
        with transaction.atomic():
            return TreeHead.objects.create(
                tree_size=head.size,
                timestamp_ms=timestamp_ms,
                root_hash=head.root_hash,
                signature=signature,
                key_id=key.kid,
            )
    except IntegrityError:  # another process signed this size first: theirs stands
        return TreeHead.objects.get(tree_size=head.size)


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
