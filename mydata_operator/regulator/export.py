"""Streamed exports of a selection of the log, each entry with its inclusion proof.

JSON Lines: one line per entry in the ENTRIES format of ``python -m consents.verify``
(``seq``, ``entry``, ``inclusion_proof``), plus ``leaf_hash``, ``prev`` (the seq of the
previous exported entry, null for the first) and ``last`` (true on the final line), so a
verifier can also tell a line lost in the middle or a cut-off download. The signed tree head
the proofs lead to is a separate download (its size is in every link and header).

CSV: the same entries with the searchable columns first, for spreadsheets; the proof is the
base64 hashes separated by spaces. Readable columns follow the codes: the event's name, the
local (Finnish) time, the decision's reason, the data categories asked for and the acting
person's role, in the language of the page that asked for the file. A spreadsheet program in
Finland or Sweden splits a CSV at semicolons (the decimal separator there is the comma), so
fi and sv files use `;`; every file starts with a UTF-8 byte order mark, without which Excel
reads ä and ö wrongly. The stand-alone verifier reads either separator.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils import timezone, translation

from consents import merkle
from consents.log import node_key
from consents.models import LogEntry, LogLeaf, LogNode
from consents.vocabulary import CATEGORIES

from . import labels

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
    "event_name",
    "local_time",
    "reason",
    "data_categories",
    "actor_role",
    "leaf_hash",
    "tree_size",
    "inclusion_proof",
    "entry",
]


#: The CSV separator of each page language; others get the comma of RFC 4180.
CSV_DELIMITERS = {"fi": ";", "sv": ";"}
BOM = "\ufeff"


def csv_delimiter(language: str | None) -> str:
    return CSV_DELIMITERS.get((language or "").split("-")[0], ",")


def _part(body: dict[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    return value if isinstance(value, kind) else None


def _readable(e: LogEntry) -> list[str]:
    """The entry's readable columns, in the active language."""
    try:
        parsed: Any = json.loads(e.entry)
    except ValueError:
        parsed = {}
    body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    decision: dict[str, Any] = _part(body, "decision", dict) or {}
    actor: dict[str, Any] = _part(body, "actorDetail", dict) or {}
    cats: list[Any] = _part(body, "categories", list) or []
    return [
        labels.label(labels.EVENT_NAMES, e.event_type),
        timezone.localtime(e.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
        labels.label(labels.REASONS, str(decision.get("reason") or "")),
        ", ".join(labels.label(CATEGORIES, str(c)) for c in cats),
        labels.label(labels.ROLES, str(actor.get("role") or "")),
    ]


def csv_lines(
    entries: Iterable[LogEntry], tree_size: int, *, language: str = "en"
) -> Iterator[str]:
    """Yield the CSV (RFC 4180 quoting, UTF-8 with a byte order mark): header, one row each.

    The file is streamed after the view has returned, so the language is fixed here."""
    with translation.override(language):
        yield from _csv_lines(entries, tree_size, csv_delimiter(language))


def _csv_lines(entries: Iterable[LogEntry], tree_size: int, delimiter: str) -> Iterator[str]:
    proofs = BatchedProofs(tree_size)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield BOM + flush()
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
                *_readable(e),
                b64(bytes(e.leaf_hash)),
                tree_size,
                " ".join(b64(h) for h in proofs.proof(_seq(e))),
                e.entry,
            ]
        )
        yield flush()
