"""Streamed exports of a selection of the log, each entry with its inclusion proof.

JSON Lines: one line per entry in the ENTRIES format of ``python -m consents.verify``
(``seq``, ``entry``, ``inclusion_proof``), plus ``leaf_hash``, ``prev`` (the seq of the
previous exported entry, null for the first) and ``last`` (true on the final line), so a
verifier can also tell a line lost in the middle or a cut-off download. The signed tree head
the proofs lead to is a separate download (its size is in every link and header).

CSV: the same entries with the searchable columns first, for spreadsheets; the proof is the
base64 hashes separated by spaces.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator

from consents import merkle
from consents.log import node_key
from consents.models import LogEntry, LogLeaf, LogNode

#: How many hashes one batched read fetches when a proof needs a node not yet in memory.
BATCH = 512
#: Drop the node cache after this many entries, so memory stays bounded on any export.
CACHE_ENTRIES = 2000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class BatchedProofs:
    """Inclusion proofs for many entries of one tree size, with batched node reads.

    A proof needs about log2(n) stored subtree hashes; neighbouring entries share most of
    them. A miss reads BATCH neighbouring hashes of the same level in one query, so an export
    costs a few queries per thousand entries rather than ~20 per entry.
    """

    def __init__(self, tree_size: int) -> None:
        self.tree_size = tree_size
        self._cache: dict[tuple[int, int], bytes] = {}
        self._served = 0
        self._ranges: dict[tuple[int, int], bytes] = {}
        self._raw_subtree = merkle.make_subtree_hash(self._perfect)

    def _subtree(self, start: int, end: int) -> bytes:
        # The right edge of the tree is not a complete subtree, so its hash is folded anew
        # for every proof; remembering the folded ranges makes a proof mostly lookups.
        key = (start, end)
        if key not in self._ranges:
            self._ranges[key] = self._raw_subtree(start, end)
        return self._ranges[key]

    def _perfect(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            self._fetch(level, index)
        try:
            return self._cache[key]
        except KeyError:
            raise LookupError(
                f"the stored tree lacks the node at level {level}, index {index}"
            ) from None

    def _fetch(self, level: int, index: int) -> None:
        width = 1 << level
        last_index = (self.tree_size // width) - 1  # complete subtrees only
        lo, hi = max(0, index - BATCH // 2), min(last_index, index + BATCH // 2)
        if level == 0:
            for seq, h in LogLeaf.objects.filter(seq__gte=lo, seq__lte=hi).values_list(
                "seq", "leaf_hash"
            ):
                self._cache[(0, seq)] = bytes(h)
            return
        wanted = {node_key(level, i): i for i in range(lo, hi + 1)}
        for key, h in LogNode.objects.filter(key__in=list(wanted)).values_list("key", "hash"):
            self._cache[(level, wanted[key])] = bytes(h)

    def proof(self, seq: int) -> list[bytes]:
        self._served += 1
        if self._served % CACHE_ENTRIES == 0:
            self._cache.clear()
            self._ranges.clear()
        return merkle.inclusion_proof(seq, self.tree_size, self._subtree)


def _seq(entry: LogEntry) -> int:
    """The entry's leaf index; exports hold integrated entries only."""
    if entry.seq is None:
        raise ValueError(f"log entry {entry.id} is pending integration and cannot be exported")
    return entry.seq


def jsonl_lines(entries: Iterable[LogEntry], tree_size: int) -> Iterator[str]:
    """Yield one JSON line per entry (see the module docstring), in log order."""
    proofs = BatchedProofs(tree_size)
    previous: int | None = None
    pending: dict[str, object] | None = None
    for entry in entries:
        if pending is not None:
            yield json.dumps(pending, separators=(",", ":"), ensure_ascii=False) + "\n"
        seq = _seq(entry)
        pending = {
            "seq": seq,
            "entry": entry.entry,
            "leaf_hash": b64(bytes(entry.leaf_hash)),
            "inclusion_proof": [b64(h) for h in proofs.proof(seq)],
            "tree_size": tree_size,
            "prev": previous,
        }
        previous = seq
    if pending is not None:
        pending["last"] = True
        yield json.dumps(pending, separators=(",", ":"), ensure_ascii=False) + "\n"


CSV_COLUMNS = [
    "seq",
    "occurred_at",
    "event_type",
    "subject_id",
    "actor_id",
    "consent_id",
    "consent_lineage",
    "kind",
    "recipient",
    "purpose",
    "outcome",
    "leaf_hash",
    "tree_size",
    "inclusion_proof",
    "entry",
]


def csv_lines(entries: Iterable[LogEntry], tree_size: int) -> Iterator[str]:
    """Yield the CSV header and one row per entry (RFC 4180, UTF-8)."""
    proofs = BatchedProofs(tree_size)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for e in entries:
        writer.writerow(
            [
                e.seq,
                e.occurred_at.isoformat(),
                e.event_type,
                e.subject_id or "",
                e.actor_id or "",
                e.consent_id or "",
                e.consent_lineage or "",
                e.kind,
                e.recipient,
                e.purpose,
                e.outcome,
                b64(bytes(e.leaf_hash)),
                tree_size,
                " ".join(b64(h) for h in proofs.proof(_seq(e))),
                e.entry,
            ]
        )
        yield flush()
