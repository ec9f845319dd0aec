"""Check the whole stored log from its entries up: what `manage.py verify_log` and the
periodic integrity task run (one implementation, `integrity_check`).

One pass in leaf order over `consents.log.iter_integrated`: the leaf indexes have no gap (a
v1 entry's own seq matches its index), the leaf hash in the tree is the entry's, the JSON is
canonical (RFC 8785), the stored leaf hash is SHA-256(0x00 || entry), every searchable
column equals what `consents.log.entry_columns` derives from the hashed entry, every stored
subtree node equals the one recomputed from the entries, every stored signed tree head's
root equals the root recomputed at its size and its signature verifies, consecutive signed
heads are consistent (an RFC 9162 proof made from the stored nodes verifies), and the newest
integration batch's size, root and right edge match the entries. Then: the log against every
checkpoint a registered witness cosigned (a shorter or different log is an alarm), every
consent's state replayed from its log entries against the consents table (a consent with no
history is an alarm; one whose newest entries are not integrated yet is compared by a later
check), and every receipt against its log entry (a receipt whose entry is missing, and an
integrated entry whose receipt is missing, are alarms), and the daily counts the regulator's
statistics read (LogDailyCount) against the integrated entries recounted as the integrator
counts them (a missing, extra or changed count row is an alarm).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import rfc8785
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from consents import keys, merkle, witnesses
from consents import log as consent_log
from consents.events import EventType
from consents.log import node_key
from consents.models import (
    Consent,
    IntegrityCheck,
    LogBatch,
    LogEntry,
    LogNode,
    Receipt,
    TreeHead,
)
from consents.states import INITIAL, TRANSITIONS, Status
from consents.treehead import verify_tree_head

CHUNK = 2000


class LogVerificationFailed(Exception):
    """The stored log does not verify; the message says where."""


@dataclass
class LogReport:
    entries: int = 0
    nodes: int = 0
    tree_heads: int = 0
    consistency_proofs: int = 0
    notes: list[str] = field(default_factory=list)
    roots_at: dict[int, bytes] = field(default_factory=dict)


#: Observes each verified entry with its parsed body (consent replay, receipts).
Observer = Callable[[LogEntry, dict[str, Any]], None]


def _check_columns(row: LogEntry, body: dict[str, Any]) -> None:
    try:
        derived = consent_log.entry_columns(body)
    except consent_log.EntryFormatError as exc:
        raise LogVerificationFailed(
            f"verification failed at entry {row.seq}: its columns cannot be derived from it: {exc}"
        ) from None
    for name in consent_log.SEARCH_COLUMNS:
        stored = getattr(row, name)
        if stored != derived[name]:
            raise LogVerificationFailed(
                f"verification failed at entry {row.seq}: its searchable column {name} says "
                f"{stored!r} but the hashed entry says {derived[name]!r}: the column was changed"
            )


def _check_entry(expected: int, seq: int, entry: str, stored_leaf: bytes) -> dict[str, Any]:
    if seq != expected:
        if seq > expected:
            why = f"entry {expected} is missing (the next stored entry is seq {seq})"
        else:
            why = f"seq {seq} appears again after seq {expected - 1}"
        raise LogVerificationFailed(f"verification failed at entry {expected}: {why}")
    try:
        body = json.loads(entry)
    except ValueError as exc:
        raise LogVerificationFailed(
            f"verification failed at entry {seq}: the entry is not JSON ({exc})"
        ) from None
    if not isinstance(body, dict) or (body.get("v") == 1 and body.get("seq") != seq):
        # v1 entries name their own leaf index; v2 entries get it at integration (their
        # place is proven by the leaf hashes and the signed roots).
        inner = body.get("seq") if isinstance(body, dict) else None
        raise LogVerificationFailed(
            f"verification failed at entry {seq}: the entry says it is seq {inner}, "
            "so it was moved or reordered"
        )
    if rfc8785.dumps(body).decode("utf-8") != entry:
        raise LogVerificationFailed(
            f"verification failed at entry {seq}: the entry is not in canonical form "
            "(RFC 8785), so it was not written by the log"
        )
    leaf = merkle.leaf_hash(entry.encode("utf-8"))
    if leaf != stored_leaf:
        raise LogVerificationFailed(
            f"verification failed at entry {seq}: its stored leaf hash is not "
            "SHA-256(0x00 || entry): the entry or its hash was changed"
        )
    return body


def _node_checker() -> Callable[[list[tuple[int, int, bytes]], int], int]:
    """Compare recomputed complete-subtree nodes with the stored ones, in batches."""
    pending: list[tuple[int, int, bytes]] = []

    def check(new_nodes: list[tuple[int, int, bytes]], flush_at: int) -> int:
        pending.extend(new_nodes)
        if len(pending) < flush_at:
            return 0
        stored = dict(
            LogNode.objects.filter(
                key__in=[node_key(level, index) for level, index, _ in pending]
            ).values_list("key", "hash")
        )
        for level, index, h in pending:
            got = stored.get(node_key(level, index))
            first = index << level
            if got is None:
                raise LogVerificationFailed(
                    f"verification failed at entry {first}: the stored node over entries "
                    f"{first} to {first + (1 << level) - 1} is missing"
                )
            if bytes(got) != h:
                raise LogVerificationFailed(
                    f"verification failed at entry {first}: the stored node over entries "
                    f"{first} to {first + (1 << level) - 1} does not match the entries"
                )
        n = len(pending)
        pending.clear()
        return n

    return check


def _check_head(head: TreeHead, root: bytes) -> None:
    public = keys.public_keys().get(head.key_id)
    if public is None:
        raise LogVerificationFailed(
            f"the tree head of size {head.tree_size} names key {head.key_id!r}, "
            "which is not among the operator's public keys"
        )
    if not verify_tree_head(
        public, head.tree_size, head.timestamp_ms, bytes(head.root_hash), bytes(head.signature)
    ):
        raise LogVerificationFailed(
            f"the signature of the tree head of size {head.tree_size} does not verify"
        )
    if bytes(head.root_hash) != root:
        raise LogVerificationFailed(
            f"verification failed at entry {max(head.tree_size - 1, 0)}: the entries 0 to "
            f"{head.tree_size - 1} do not hash to the root of the signed tree head of size "
            f"{head.tree_size}"
        )


def verify_stored_log(
    *,
    check_consistency: bool = True,
    roots_at: set[int] | frozenset[int] = frozenset(),
    observe: Observer | None = None,
) -> LogReport:
    """Verify the whole stored log; raise LogVerificationFailed saying where it breaks.

    The roots at the sizes in `roots_at` are recomputed on the way (report.roots_at), and
    `observe` sees every verified entry with its parsed body.
    """
    report = LogReport()
    heads = list(TreeHead.objects.order_by("tree_size"))
    head_iter = iter(heads)
    next_head = next(head_iter, None)
    frontier: list[bytes] = []
    size = 0
    check_nodes = _node_checker()
    while next_head is not None and next_head.tree_size == 0:
        _check_head(next_head, merkle.EMPTY_ROOT)
        report.tree_heads += 1
        next_head = next(head_iter, None)
    if 0 in roots_at:
        report.roots_at[0] = merkle.EMPTY_ROOT
    for row in consent_log.iter_integrated(start=0, batch=CHUNK):
        tree_leaf = getattr(row, "tree_leaf_hash", None)
        if tree_leaf is None or bytes(tree_leaf) != bytes(row.leaf_hash):
            raise LogVerificationFailed(
                f"verification failed at entry {size}: the leaf hash in the tree is not "
                "the hash stored with the entry: the leaf or the entry was changed"
            )
        seq = row.seq
        if seq is None:  # iter_integrated reads integrated entries only
            raise LogVerificationFailed(f"verification failed at entry {size}: it has no leaf")
        body = _check_entry(size, seq, row.entry, bytes(row.leaf_hash))
        _check_columns(row, body)
        if observe is not None:
            observe(row, body)
        leaf = merkle.leaf_hash(row.entry.encode("utf-8"))
        frontier, new_nodes = merkle.frontier_append(frontier, size, leaf)
        size += 1
        if size in roots_at:
            report.roots_at[size] = merkle.frontier_root(frontier, size)
        report.nodes += check_nodes(new_nodes, 4096)
        while next_head is not None and next_head.tree_size == size:
            _check_head(next_head, merkle.frontier_root(frontier, size))
            report.tree_heads += 1
            next_head = next(head_iter, None)
    report.nodes += check_nodes([], 0)
    report.entries = size
    if next_head is not None:
        raise LogVerificationFailed(
            f"verification failed at entry {size}: a tree head of size {next_head.tree_size} "
            f"was signed, but only {size} entries are stored"
        )
    current = consent_log.log_head()
    if current.size != size:
        raise LogVerificationFailed(
            f"verification failed at entry {min(size, current.size)}: the log head says "
            f"{current.size} entries, {size} are stored"
        )
    stored_edge = LogBatch.objects.order_by("-size").values_list("frontier", flat=True).first()
    if current.root_hash != merkle.frontier_root(frontier, size) or (
        stored_edge is not None and stored_edge != [h.hex() for h in frontier]
    ):
        raise LogVerificationFailed(
            "the log head's right edge does not match the entries: the next appends "
            "would build on a rewritten tree"
        )
    if check_consistency:
        for old, new in itertools.pairwise(heads):
            proof = consent_log.consistency_proof(first=old.tree_size, second=new.tree_size)
            if not merkle.verify_consistency(
                old.tree_size,
                new.tree_size,
                bytes(old.root_hash),
                bytes(new.root_hash),
                proof,
            ):
                raise LogVerificationFailed(
                    f"the signed tree heads of size {old.tree_size} and {new.tree_size} "
                    "are not consistent"
                )
            report.consistency_proofs += 1
    if not heads:
        report.notes.append("no signed tree head is stored yet; only the entries were checked")
    return report


# --- the checks beyond the tree ---------------------------------------------------------------

#: The state each consent event leaves its consent in; "changed" starts a new version.
EVENT_STATUS: dict[str, Status] = {
    EventType.CONSENT_REQUESTED: Status.REQUESTED,
    EventType.CONSENT_GRANTED: Status.ACTIVE,
    EventType.CONSENT_APPROVED: Status.ACTIVE,
    EventType.CONSENT_REJECTED: Status.REJECTED,
    EventType.CONSENT_CHANGED: Status.ACTIVE,
    EventType.CONSENT_SUPERSEDED: Status.SUPERSEDED,
    EventType.CONSENT_PAUSED: Status.PAUSED,
    EventType.CONSENT_RESUMED: Status.ACTIVE,
    EventType.CONSENT_WITHDRAWN: Status.WITHDRAWN,
    EventType.CONSENT_REVOKED: Status.REVOKED,
    EventType.CONSENT_TERMINATED: Status.TERMINATED,
    EventType.CONSENT_EXPIRED: Status.EXPIRED,
}


@dataclass
class _Replay:
    """Consent states replayed from the log, and the entries that must have a receipt."""

    states: dict[UUID, tuple[Status, int | None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: Entry id -> (consent, event type) of every integrated entry that issued a receipt.
    receipt_entries: dict[int, tuple[UUID | None, str]] = field(default_factory=dict)

    def __call__(self, row: LogEntry, body: dict[str, Any]) -> None:
        target = EVENT_STATUS.get(row.event_type)
        if target is None or row.consent_id is None:
            return
        previous = self.states.get(row.consent_id)
        if previous is None:
            if target not in INITIAL:
                self.problems.append(
                    f"consent {row.consent_id}: its history starts at entry {row.seq} with "
                    f"{row.event_type}, not with a request or a grant"
                )
        elif target not in TRANSITIONS[previous[0]]:
            self.problems.append(
                f"consent {row.consent_id}: entry {row.seq} ({row.event_type}) moves it from "
                f"{previous[0]} to {target}, which the transition table does not allow"
            )
        self.states[row.consent_id] = (target, row.seq)
        actor = body.get("actorDetail")
        if isinstance(actor, dict) and actor.get("role"):
            self.receipt_entries[row.id] = (row.consent_id, row.event_type)


def _unsettled_consents(entries: int) -> set[UUID]:
    """Consents with entries the pass over the tree did not see (pending or newer)."""
    newer = LogEntry.objects.filter(consent_id__isnull=False).filter(
        Q(leaf__isnull=True) | Q(leaf__seq__gte=entries)
    )
    return {c for c in newer.values_list("consent_id", flat=True) if c is not None}


def _check_consents(replay: _Replay, entries: int) -> tuple[int, list[str]]:
    problems = list(replay.problems)
    unsettled = _unsettled_consents(entries)
    seen: set[UUID] = set()
    count = 0
    for consent_id, status in Consent.objects.values_list("id", "status").iterator(
        chunk_size=CHUNK
    ):
        count += 1
        seen.add(consent_id)
        if consent_id in unsettled:
            continue
        replayed = replay.states.get(consent_id)
        if replayed is None:
            problems.append(
                f"consent {consent_id} is {status} in the consents table but has no history "
                "in the log"
            )
        elif replayed[0] != status:
            problems.append(
                f"consent {consent_id} is {status} in the consents table, but its log history "
                f"ends {replayed[0]} (entry {replayed[1]})"
            )
    for consent_id, (status, seq) in replay.states.items():
        if consent_id not in seen:
            problems.append(
                f"consent {consent_id} has a history in the log (last entry {seq}, {status}) "
                "but no row in the consents table"
            )
    return count, problems


def _check_receipts(replay: _Replay) -> tuple[int, list[str]]:
    """Every receipt cites an integrated entry that issued it, and every such entry has one.

    A receipt whose entry is still pending integration (written after the pass over the
    tree) is compared once its entry is integrated, by a later check.
    """
    problems: list[str] = []
    count = 0
    expected = dict(replay.receipt_entries)
    rows = Receipt.objects.values_list("id", "log_entry_id", "consent_id", "event_type")
    for receipt_id, entry_id, consent_id, event_type in rows.iterator(chunk_size=CHUNK):
        count += 1
        wanted = expected.pop(entry_id, None)
        if wanted is None:
            entry = LogEntry.objects.filter(id=entry_id).values_list("leaf__seq", flat=True)
            if not entry.exists():
                why = "which is not in the log"
            elif entry.first() is None:
                continue  # pending: integrated after this check's pass over the tree
            else:
                why = "which is not an entry that issues a receipt"
            problems.append(f"receipt {receipt_id} is for log entry {entry_id}, {why}")
        elif wanted != (consent_id, event_type):
            problems.append(
                f"receipt {receipt_id} is for entry {entry_id}, but that entry records "
                f"{wanted[1]} of consent {wanted[0]}, not {event_type} of consent {consent_id}"
            )
    for entry_id, (lost_consent, event_type) in sorted(expected.items()):
        problems.append(
            f"log entry {entry_id} ({event_type} of consent {lost_consent}) issued a receipt, "
            "but no receipt for it is stored: it was deleted"
        )
    return count, problems


def _check_witnessed(report: LogReport, heads_size: int | None) -> tuple[int | None, list[str]]:
    problems: list[str] = []
    newest: int | None = None
    for cosig in witnesses.all_cosignatures():
        who = f"witness {cosig.witness.label or cosig.witness.name}"
        if not witnesses.cosignature_verified(cosig):
            problems.append(
                f"the stored cosignature of size {cosig.tree_size} by {who} does not verify"
            )
            continue
        newest = max(newest or 0, cosig.tree_size)
        root = report.roots_at.get(cosig.tree_size)
        if root is None:
            problems.append(
                f"the log is shorter than a checkpoint a witness cosigned: {who} cosigned "
                f"size {cosig.tree_size}, only {report.entries} entries are stored: entries "
                "were removed"
            )
        elif root != bytes(cosig.root_hash):
            problems.append(
                f"the log differs from the checkpoint of size {cosig.tree_size} that {who} "
                "cosigned: the entries do not hash to the witnessed root"
            )
    if newest is not None and heads_size is not None and heads_size < newest:
        problems.append(
            f"the newest signed tree head (size {heads_size}) is smaller than the checkpoint "
            f"of size {newest} a witness cosigned: the head was rolled back"
        )
    return newest, problems


def _check_daily_counts() -> tuple[int, list[str]]:
    """The daily counts the regulator's statistics read equal the integrated entries,
    recounted as the integrator counts them (one GROUP BY over the log, in the database).
    Returns how many count rows were compared, read by that same statement."""
    problems: list[str] = []
    comparison = consent_log.daily_counts_compare()
    for d in comparison.differences:
        key = (
            f"the daily count of {d.day} for {d.event_type} (kind {d.kind!r}, recipient "
            f"{d.recipient!r}, outcome {d.outcome!r})"
        )
        if d.stored == 0:
            problems.append(
                f"{key} is missing: the log has {d.counted} such entries, the statistics count none"
            )
        elif d.counted == 0:
            problems.append(
                f"{key} says {d.stored} entries, but the log has none: the statistics count "
                "entries that do not exist"
            )
        else:
            problems.append(
                f"{key} says {d.stored} entries, but the log has {d.counted}: the statistics "
                "are wrong"
            )
    return comparison.compared, problems


@dataclass
class IntegrityReport:
    """What one integrity check found; ok when there are no problems."""

    started_at: datetime
    log: LogReport
    consents: int = 0
    receipts: int = 0
    daily_counts: int | None = None  # None: not compared (the log itself does not verify)
    witnessed_size: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def integrity_check(*, check_consistency: bool = True) -> IntegrityReport:
    """Run every check of the stored log; never raises for what it finds, reports it."""
    started = timezone.now()
    cosigned = {c.tree_size for c in witnesses.all_cosignatures()}
    replay = _Replay()
    problems: list[str] = []
    try:
        log_report = verify_stored_log(
            check_consistency=check_consistency, roots_at=cosigned, observe=replay
        )
        tree_ok = True
    except LogVerificationFailed as exc:
        problems.append(str(exc))
        log_report = LogReport()
        tree_ok = False
    report = IntegrityReport(started, log_report)
    newest_head = TreeHead.objects.order_by("-tree_size").values_list("tree_size", flat=True)
    if tree_ok:
        report.witnessed_size, found = _check_witnessed(log_report, newest_head.first())
        problems += found
        report.consents, found = _check_consents(replay, log_report.entries)
        problems += found
        report.receipts, found = _check_receipts(replay)
        problems += found
        report.daily_counts, found = _check_daily_counts()
        problems += found
    else:
        problems.append(
            "the consents, receipts and daily counts were not compared with the log, because "
            "the log itself does not verify"
        )
    report.problems = problems
    return report


def integrity_check_record(report: IntegrityReport, *, source: str) -> IntegrityCheck:
    """Store the result (insert-only) and log it as an `audit.integrity` entry."""
    with transaction.atomic():
        entry = consent_log.log_append(
            event_type=EventType.AUDIT_INTEGRITY,
            outcome="ok" if report.ok else "alarm",
            body={
                "check": {
                    "ok": report.ok,
                    "source": source,
                    "entries": report.log.entries,
                    "treeHeads": report.log.tree_heads,
                    "consents": report.consents,
                    "receipts": report.receipts,
                    "dailyCounts": report.daily_counts,
                    "witnessedSize": report.witnessed_size,
                    "problems": report.problems[:50],
                    "startedAt": report.started_at,
                }
            },
        )
        return IntegrityCheck.objects.create(
            started_at=report.started_at,
            finished_at=timezone.now(),
            ok=report.ok,
            source=source,
            entries=report.log.entries,
            tree_heads=report.log.tree_heads,
            consents=report.consents,
            receipts=report.receipts,
            daily_counts=report.daily_counts,
            witnessed_size=report.witnessed_size,
            problems=report.problems,
            log_entry_id=entry.id,
        )


def integrity_check_run(*, source: str, check_consistency: bool = True) -> IntegrityCheck:
    """Check, store and log: the one entry point of verify_log and the periodic task."""
    return integrity_check_record(
        integrity_check(check_consistency=check_consistency), source=source
    )
