"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.

Pure functions on the standard library only: no Django, no I/O. The log store supplies hashes
through a *subtree hash source*, a callable ``subtree_hash(start, end)`` returning
MTH(D[start:end]), the Merkle Tree Hash of leaves ``start`` (inclusive) to ``end`` (exclusive).

Hashing (RFC 6962 §2.1, RFC 9162 §2.1.1):

* the empty tree hashes to SHA-256 of the empty string;
* a leaf hashes to SHA-256(0x00 || entry);
* an interior node hashes to SHA-256(0x01 || left || right);
* a tree of n > 1 leaves splits at k, the largest power of two strictly smaller than n.

Conventions of this module: ``leaf`` arguments of the verification and frontier functions are
*leaf hashes* (``leaf_hash(entry)``, 32 bytes), as in RFC 9162; use ``verify_entry_inclusion``
to verify the entry bytes themselves. A *perfect* (complete) node at ``(level, index)`` is the
root of the complete subtree of 2**level leaves starting at leaf ``index * 2**level``; level 0
is the leaf hash itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ListSource",
    "PerfectHash",
    "SubtreeHash",
    "consistency_proof",
    "frontier_append",
    "frontier_nodes",
    "frontier_root",
    "inclusion_proof",
    "leaf_hash",
    "make_subtree_hash",
    "node_hash",
    "root_hash",
    "split_point",
    "verify_consistency",
    "verify_entry_inclusion",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size in bytes of every hash of the tree (SHA-256)."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""MTH({}) — the root hash of the empty tree, SHA-256 of the empty string."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

SubtreeHash = Callable[[int, int], bytes]
"""``subtree_hash(start, end)`` returns MTH(D[start:end]) for ``0 <= start < end``."""

PerfectHash = Callable[[int, int], bytes]
"""``perfect(level, index)`` returns the hash of the complete subtree of 2**level leaves
starting at leaf ``index * 2**level``."""


# --------------------------------------------------------------------------- hashing


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 6962 leaf hash SHA-256(0x00 || entry)."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + bytes(left) + bytes(right)).digest()


def split_point(n: int) -> int:
    """Return k, the largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    if n < 2:
        raise ValueError(f"split_point needs n >= 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------- hash sources


def make_subtree_hash(perfect: PerfectHash) -> SubtreeHash:
    """Build ``subtree_hash(start, end)`` from a lookup of perfect (complete) nodes.

    [start, end) is decomposed the RFC way: if it is a complete subtree aligned on its own size
    it is a single perfect node, otherwise it is node_hash(MTH(D[start:start+k]),
    MTH(D[start+k:end])) with k = split_point(end - start). For every range the RFC algorithms
    ask for (``start`` a multiple of the smallest power of two >= ``end - start``, which holds
    for all ranges produced by ``inclusion_proof``, ``consistency_proof`` and ``root_hash``),
    the left part is always one perfect node, so a call costs at most about log2(end - start)
    lookups. Other ranges are still answered correctly, with more lookups.

    ``perfect`` is only ever asked for complete subtrees lying inside [start, end).
    """

    def subtree_hash(start: int, end: int) -> bytes:
        if not 0 <= start < end:
            raise ValueError(f"empty or negative range [{start}, {end})")
        # Walk down the right edge of the range, collecting the left (perfect) parts, then fold
        # them from the right: MTH = node(L1, node(L2, ... node(Lk-1, Lk))).
        parts: list[bytes] = []
        while True:
            n = end - start
            if n & (n - 1) == 0 and start % n == 0:
                level = n.bit_length() - 1
                parts.append(perfect(level, start >> level))
                break
            k = split_point(n)
            parts.append(subtree_hash(start, start + k) if start % k else _perf(start, k))
            start += k
        acc = parts.pop()
        while parts:
            acc = node_hash(parts.pop(), acc)
        return acc

    def _perf(start: int, size: int) -> bytes:
        level = size.bit_length() - 1
        return perfect(level, start >> level)

    return subtree_hash


class ListSource:
    """A subtree hash source over an in-memory list of leaf hashes (naive recursive MTH).

    Meant for tests and small trees. Instances are callable as ``subtree_hash(start, end)``
    and also offer ``perfect(level, index)`` for use with ``make_subtree_hash``.
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.leaf_hashes: list[bytes] = list(leaf_hashes)
        self._cache: dict[tuple[int, int], bytes] = {}

    @classmethod
    def from_entries(cls, entries: Sequence[bytes]) -> ListSource:
        """Build a source from raw entries (hashing each with ``leaf_hash``)."""
        return cls([leaf_hash(e) for e in entries])

    def __len__(self) -> int:
        return len(self.leaf_hashes)

    def subtree_hash(self, start: int, end: int) -> bytes:
        """Return MTH(D[start:end]) by the RFC 6962 recursive definition."""
        if not 0 <= start < end <= len(self.leaf_hashes):
            raise ValueError(f"range [{start}, {end}) outside a tree of {len(self)} leaves")
        key = (start, end)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if end - start == 1:
            result = self.leaf_hashes[start]
        else:
            k = split_point(end - start)
            result = node_hash(
                self.subtree_hash(start, start + k), self.subtree_hash(start + k, end)
            )
        self._cache[key] = result
        return result

    __call__ = subtree_hash

    def perfect(self, level: int, index: int) -> bytes:
        """Return the hash of the complete subtree at ``(level, index)``."""
        start = index << level
        return self.subtree_hash(start, start + (1 << level))

    def root(self) -> bytes:
        """Return the root hash of the whole list."""
        return root_hash(self.subtree_hash, len(self.leaf_hashes))


# --------------------------------------------------------------------------- proofs


def root_hash(subtree_hash: SubtreeHash, size: int) -> bytes:
    """Return MTH(D[0:size]); the empty tree (size 0) hashes to ``EMPTY_ROOT``."""
    if size < 0:
        raise ValueError(f"negative tree size {size}")
    if size == 0:
        return EMPTY_ROOT
    return subtree_hash(0, size)


def inclusion_proof(index: int, size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """Return the audit path PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf to root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []  # collected root to leaf, reversed at the end
    start, end, m = 0, size, index
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            path.append(subtree_hash(start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k))
            start += k
            m -= k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """Return PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1.

    Empty when ``old_size`` is 0 or equal to ``new_size``.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    # SUBPROOF(m, D[start:end], b), unrolled; collected root-side first, reversed at the end.
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            proof.append(subtree_hash(start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        proof.append(subtree_hash(start, end))
    proof.reverse()
    return proof


# --------------------------------------------------------------------------- verification


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray | memoryview) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _proof_list(proof: object) -> list[bytes] | None:
    """Return the proof as a list of 32-byte hashes, or None when it is not one."""
    if isinstance(proof, str | bytes | bytearray | memoryview | dict):
        return None
    try:
        items = list(proof)  # type: ignore[call-overload]
    except TypeError:
        return None
    if not all(_is_hash(p) for p in items):
        return None
    return [bytes(p) for p in items]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Verify that leaf hash ``leaf`` is at ``index`` in the tree of ``size`` with ``root``.

    The RFC 9162 §2.1.3.2 algorithm. Returns False, never raises, on any malformed input.
    """
    if not (_is_size(index) and _is_size(size) and index < size):
        return False
    path = _proof_list(proof)
    if path is None or not (_is_hash(leaf) and _is_hash(root)):
        return False
    fn, sn = index, size - 1
    r = bytes(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == bytes(root)


def verify_entry_inclusion(
    entry: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Like ``verify_inclusion`` but takes the entry bytes and hashes them as a leaf."""
    if not isinstance(entry, bytes | bytearray | memoryview):
        return False
    return verify_inclusion(leaf_hash(entry), index, size, proof, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Verify that the tree (old_size, old_root) is a prefix of (new_size, new_root).

    The RFC 9162 §2.1.4.2 algorithm. Equal sizes need an empty proof and equal roots; an old
    size of 0 needs an empty proof. Returns False, never raises, on any malformed input.
    """
    if not (_is_size(old_size) and _is_size(new_size) and old_size <= new_size):
        return False
    path = _proof_list(proof)
    if path is None or not (_is_hash(old_root) and _is_hash(new_root)):
        return False
    if old_size == new_size:
        return not path and bytes(old_root) == bytes(new_root)
    if old_size == 0:
        return not path
    if not path:
        return False
    if old_size & (old_size - 1) == 0:  # old tree is a complete subtree: its root is implied
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == bytes(old_root) and sr == bytes(new_root)


# --------------------------------------------------------------------------- frontier


def frontier_nodes(size: int) -> list[tuple[int, int]]:
    """Return the (level, index) of the perfect nodes making up the frontier of ``size`` leaves.

    One node per set bit of ``size``, largest (leftmost) first; look them up to rebuild a
    frontier from stored perfect nodes.
    """
    if size < 0:
        raise ValueError(f"negative tree size {size}")
    nodes: list[tuple[int, int]] = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, (size >> level) - 1))
    return nodes


def frontier_append(
    frontier: list[bytes], size: int, leaf: bytes
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """Append leaf hash ``leaf`` to a tree of ``size`` leaves given by its ``frontier``.

    ``frontier`` holds the hashes of the complete subtrees along the right edge (one per set bit
    of ``size``, largest first). Returns the new frontier (for ``size + 1`` leaves; the input
    list is not modified) and the perfect nodes of level >= 1 this append completed, as
    ``(level, index, hash)``, lowest level first. O(log size).
    """
    if not _is_size(size):
        raise ValueError(f"invalid tree size {size!r}")
    if len(frontier) != size.bit_count():
        raise ValueError(
            f"a frontier of a tree of size {size} has {size.bit_count()} hashes, "
            f"got {len(frontier)}"
        )
    if not _is_hash(leaf):
        raise ValueError("leaf must be a 32-byte leaf hash")
    new = list(frontier)
    completed: list[tuple[int, int, bytes]] = []
    acc = bytes(leaf)
    level = 0
    while size >> level & 1:
        acc = node_hash(new.pop(), acc)
        level += 1
        completed.append((level, size >> level, acc))
    new.append(acc)
    return new, completed


def frontier_root(frontier: Sequence[bytes], size: int) -> bytes:
    """Return the root hash of the tree of ``size`` leaves from its frontier.

    Folds from the right: acc = node_hash(left, acc).
    """
    if not _is_size(size):
        raise ValueError(f"invalid tree size {size!r}")
    if len(frontier) != size.bit_count():
        raise ValueError(
            f"a frontier of a tree of size {size} has {size.bit_count()} hashes, "
            f"got {len(frontier)}"
        )
    if size == 0:
        return EMPTY_ROOT
    acc = bytes(frontier[-1])
    for h in reversed(frontier[:-1]):
        acc = node_hash(h, acc)
    return acc
