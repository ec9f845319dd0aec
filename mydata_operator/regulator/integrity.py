"""Check the whole stored log from its entries up: what `manage.py verify_log` runs.

One pass in log order, memory O(log n): every entry's seq has no gap and matches the seq
inside its canonical JSON, the JSON is canonical (RFC 8785), the stored leaf hash is
SHA-256(0x00 || entry), every stored subtree node equals the one recomputed from the
entries, every stored signed tree head's root equals the root recomputed at its size and
its signature verifies, consecutive signed heads are consistent (an RFC 9162 proof made
from the stored nodes verifies), and the log head's size and root match the entries.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import rfc8785

from consents import keys, merkle
from consents import log as consent_log
from consents.log import node_key
from consents.models import LogBatch, LogEntry, LogNode, TreeHead
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


def _rows() -> Iterator[tuple[int, str, bytes]]:
    last = -1
    while True:
        rows = list(
            LogEntry.objects.filter(leaf__seq__gt=last)
            .order_by("leaf__seq")
            .values_list("leaf__seq", "entry", "leaf_hash", "leaf__leaf_hash")[:CHUNK]
        )
        for seq, entry, leaf, tree_leaf in rows:
            if bytes(tree_leaf) != bytes(leaf):
                raise LogVerificationFailed(
                    f"verification failed at entry {seq}: the leaf hash in the tree is not "
                    "the hash stored with the entry: the leaf or the entry was changed"
                )
            yield seq, entry, bytes(leaf)
        if len(rows) < CHUNK:
            return
        last = rows[-1][0]


def _check_entry(expected: int, seq: int, entry: str, stored_leaf: bytes) -> bytes:
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
    return leaf


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


def verify_stored_log(*, check_consistency: bool = True) -> LogReport:
    """Verify the whole stored log; raise LogVerificationFailed saying where it breaks."""
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
    for seq, entry, stored_leaf in _rows():
        leaf = _check_entry(size, seq, entry, stored_leaf)
        frontier, new_nodes = merkle.frontier_append(frontier, size, leaf)
        size += 1
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
