"""RFC 6962 / RFC 9162 Merkle tree: known answers, properties, and the signed tree head format.

The known-answer vectors are the reference 8-leaf tree of the Certificate Transparency
project, as published in google/certificate-transparency cpp/merkletree/merkle_tree_test.cc
(kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs), google/trillian
merkle/testonly/constants.go (NodeHashes, CompactTrees) and transparency-dev/merkle
proof/verify_test.go and rfc6962/rfc6962_test.go. Matching them shows our hashing and proofs
agree with independent RFC 6962 implementations.
"""

from __future__ import annotations

import base64
import hashlib
import math

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from consents import merkle, treehead
from consents.merkle import (
    EMPTY_ROOT,
    ListSource,
    consistency_proof,
    frontier_append,
    frontier_nodes,
    frontier_root,
    inclusion_proof,
    leaf_hash,
    make_subtree_hash,
    node_hash,
    root_hash,
    split_point,
    verify_consistency,
    verify_entry_inclusion,
    verify_inclusion,
)

h = bytes.fromhex

# --------------------------------------------------------------------------- reference vectors

LEAF_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# Roots of the trees of sizes 0..8 built from LEAF_INPUTS.
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# Complete subtree hashes by [level][index] (trillian merkle/testonly NodeHashes).
NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [
        h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ],
]

# Frontiers ("compact trees") of sizes 0..8, as (level, index) into NODE_HASHES.
COMPACT_TREES = [
    [],
    [(0, 0)],
    [(1, 0)],
    [(1, 0), (0, 2)],
    [(2, 0)],
    [(2, 0), (0, 4)],
    [(2, 0), (1, 2)],
    [(2, 0), (1, 2), (0, 6)],
    [(3, 0)],
]

# (leaf index 0-based, tree size, audit path). The upstream tables are 1-based.
INCLUSION_PROOFS = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        3,
        [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")],
    ),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (old size, new size, consistency proof).
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


@pytest.fixture(scope="module")
def reference() -> ListSource:
    return ListSource.from_entries(LEAF_INPUTS)


def _perfect_store(leaf_hashes: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Perfect nodes of a tree built by frontier_append, as a database would store them."""
    store: dict[tuple[int, int], bytes] = {}
    frontier: list[bytes] = []
    for i, lh in enumerate(leaf_hashes):
        store[(0, i)] = lh
        frontier, completed = frontier_append(frontier, i, lh)
        for level, index, node in completed:
            assert (level, index) not in store
            store[(level, index)] = node
    return store


# --------------------------------------------------------------------------- known answers


def test_hasher_known_answers() -> None:
    assert h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == EMPTY_ROOT
    assert leaf_hash(b"") == h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert leaf_hash(b"L123456") == h(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456") == h(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )
    # Leaf and node hashing are domain separated; order matters.
    a, b = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert node_hash(a, b) != leaf_hash(a + b)
    assert node_hash(a, b) != node_hash(b, a)


def test_split_point() -> None:
    assert [split_point(n) for n in range(2, 18)] == [
        1, 2, 2, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 16,
    ]  # fmt: skip
    with pytest.raises(ValueError):
        split_point(1)


@pytest.mark.parametrize("size", range(9))
def test_reference_roots(reference: ListSource, size: int) -> None:
    assert root_hash(reference, size) == ROOTS[size]
    # The database-style source over perfect nodes gives the same roots.
    store = _perfect_store(reference.leaf_hashes[:size])
    assert root_hash(make_subtree_hash(lambda lv, i: store[(lv, i)]), size) == ROOTS[size]


def test_reference_node_hashes(reference: ListSource) -> None:
    store = _perfect_store(reference.leaf_hashes)
    for level, row in enumerate(NODE_HASHES):
        for index, expected in enumerate(row):
            assert reference.perfect(level, index) == expected
            assert store[(level, index)] == expected
    assert len(store) == sum(len(row) for row in NODE_HASHES)


def test_reference_frontiers(reference: ListSource) -> None:
    frontier: list[bytes] = []
    for size in range(9):
        assert frontier_nodes(size) == COMPACT_TREES[size]
        assert frontier == [NODE_HASHES[lv][i] for lv, i in COMPACT_TREES[size]]
        assert frontier_root(frontier, size) == ROOTS[size]
        if size < 8:
            frontier, _ = frontier_append(frontier, size, reference.leaf_hashes[size])


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_PROOFS)
def test_reference_inclusion_proofs(
    reference: ListSource, index: int, size: int, path: list[bytes]
) -> None:
    assert inclusion_proof(index, size, reference) == path
    lh = leaf_hash(LEAF_INPUTS[index])
    root = ROOTS[size]
    assert verify_inclusion(lh, index, size, path, root)
    assert verify_entry_inclusion(LEAF_INPUTS[index], index, size, path, root)
    # The corruptions of the upstream verifier tests must all fail.
    probes = [
        (lh, index - 1, size, path, root),
        (lh, index + 1, size, path, root),
        (lh, index ^ 2, size, path, root),
        (lh, index, size * 2, path, root),
        (lh, index, size // 2, path, root),
        (leaf_hash(b"WrongLeaf"), index, size, path, root),
        (b"WrongLeaf", index, size, path, root),
        (lh, index, size, path, EMPTY_ROOT),
        (lh, index, size, path, SOME_HASH),
        (lh, index, size, [*path, b""], root),
        (lh, index, size, [*path, root], root),
        (lh, index, size, [b"", *path], root),
        (lh, index, size, [root, *path], root),
    ]
    for i in range(len(path)):
        wrong = list(path)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((lh, index, size, wrong, root))
    if path:
        probes.append((lh, index, size, path[:-1], root))
    if len(path) > 1:
        probes.append((lh, index, size, [path[0], SOME_HASH, *path[1:]], root))
    for probe in probes:
        assert not verify_inclusion(*probe), probe


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS)
def test_reference_consistency_proofs(
    reference: ListSource, old: int, new: int, proof: list[bytes]
) -> None:
    assert consistency_proof(old, new, reference) == proof
    r1, r2 = ROOTS[old], ROOTS[new]
    assert verify_consistency(old, new, r1, r2, proof)
    if not proof:
        return
    probes = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, b"WrongRoot", r2, proof),
        (old, new, r1, b"WrongRoot", proof),
        (old, new, SOME_HASH, r2, proof),
        (old, new, r1, SOME_HASH, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, b""]),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [*proof, proof[-1]]),
        (old, new, r1, r2, [b"", *proof]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((old, new, r1, r2, wrong))
        wrong = list(proof)
        wrong[i] = EMPTY_ROOT
        probes.append((old, new, r1, r2, wrong))
    for probe in probes:
        assert not verify_consistency(*probe), probe


def test_inclusion_edge_cases() -> None:
    for index, size in [(0, 0), (1, 0), (2, 1), (1, 1)]:
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
        assert not verify_inclusion(SOME_HASH, index, size, [], SOME_HASH)
    one = leaf_hash(b"data")
    assert verify_inclusion(one, 0, 1, [], one)  # a one-leaf tree's root is its leaf hash
    assert not verify_inclusion(one, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], one)
    # Malformed input is False, never an exception.
    for bad in [
        (one, -1, 1, [], one),
        (one, 0, -1, [], one),
        (one, "0", 1, [], one),
        (one, 0.0, 1, [], one),
        (one, 0, 1, None, one),
        (one, 0, 1, one, one),  # bytes, not a list of hashes
        (one, 0, 1, "abc", one),
        (one, 0, 1, [None], one),
        ("x" * 32, 0, 1, [], one),
        (None, 0, 1, [], one),
        (one, 0, 1, [], None),
    ]:
        assert verify_inclusion(*bad) is False, bad  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        inclusion_proof(1, 1, ListSource([one]))
    with pytest.raises(ValueError):
        inclusion_proof(-1, 1, ListSource([one]))


def test_consistency_edge_cases() -> None:
    r1, r2 = SOME_HASH, ROOTS[3]
    # Sizes that are always consistent (with an empty proof).
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 1, r1, r2, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, r2, [])
    assert verify_consistency(1, 1, r2, r2, [])
    # Equal sizes need equal roots.
    assert not verify_consistency(0, 0, r1, r2, [])
    assert not verify_consistency(1, 1, r1, r2, [])
    # Time travel to the past.
    assert not verify_consistency(1, 0, r1, r2, [])
    assert not verify_consistency(2, 1, r1, r2, [])
    # An empty proof between different sizes.
    assert not verify_consistency(1, 2, r1, r2, [])
    # Roots match but the proof is not empty.
    for old, new in [(0, 0), (0, 1), (1, 1)]:
        assert not verify_consistency(old, new, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    for bad in [
        (-1, 1, r1, r2, []),
        (1, -1, r1, r2, []),
        (True, 2, r1, r2, [r1]),
        (1, 2, b"short", r2, [r1]),
        (1, 2, r1, None, [r1]),
        (1, 2, r1, r2, None),
        (1, 2, r1, r2, r1),
        (1, 2, r1, r2, [b"x" * 31]),
        (1, 2, r1, r2, [object()]),
    ]:
        assert verify_consistency(*bad) is False, bad  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        consistency_proof(3, 2, ListSource([r1] * 3))
    assert consistency_proof(0, 3, ListSource([r1] * 3)) == []
    assert consistency_proof(3, 3, ListSource([r1] * 3)) == []


def test_frontier_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        frontier_append([], 1, SOME_HASH)  # size 1 needs one frontier hash
    with pytest.raises(ValueError):
        frontier_append([], 0, b"short")
    with pytest.raises(ValueError):
        frontier_root([SOME_HASH], 3)
    assert frontier_root([], 0) == EMPTY_ROOT


# --------------------------------------------------------------------------- properties

# Distinct entries (an index prefix keeps them apart), tree sizes spread evenly over 1..300.
entries_st = st.integers(1, 300).flatmap(
    lambda n: st.lists(st.binary(max_size=24), min_size=n, max_size=n).map(
        lambda xs: [b"%d:" % i + x for i, x in enumerate(xs)]
    )
)
PROPS = settings(max_examples=60, deadline=None)


def _with_source(entries: list[bytes]) -> tuple[ListSource, merkle.SubtreeHash]:
    naive = ListSource.from_entries(entries)
    store = _perfect_store(naive.leaf_hashes)
    return naive, make_subtree_hash(lambda lv, i: store[(lv, i)])


@PROPS
@given(entries=entries_st)
def test_every_inclusion_proof_verifies(entries: list[bytes]) -> None:
    naive, stored = _with_source(entries)
    n = len(entries)
    root = naive.root()
    assert root_hash(stored, n) == root
    for i in range(n):
        proof = inclusion_proof(i, n, naive)
        assert inclusion_proof(i, n, stored) == proof
        assert len(proof) <= max(1, math.ceil(math.log2(n)))
        assert verify_inclusion(naive.leaf_hashes[i], i, n, proof, root)
        assert verify_entry_inclusion(entries[i], i, n, proof, root)


@PROPS
@given(entries=entries_st, data=st.data())
def test_every_consistency_proof_verifies(entries: list[bytes], data: st.DataObject) -> None:
    naive, stored = _with_source(entries)
    n = len(entries)
    roots = [root_hash(naive, m) for m in range(n + 1)]
    pairs = data.draw(
        st.lists(
            st.integers(0, n).flatmap(lambda new: st.tuples(st.integers(0, new), st.just(new))),
            min_size=1,
            max_size=20,
        )
    )
    pairs += [(m, n) for m in range(n + 1)]
    for m, k in pairs:
        proof = consistency_proof(m, k, naive)
        assert consistency_proof(m, k, stored) == proof
        assert verify_consistency(m, k, roots[m], roots[k], proof)
        if proof:
            assert not verify_consistency(m, k, roots[k], roots[m], proof)
            assert not verify_consistency(m, k, roots[m], roots[k], proof[:-1])
            assert not verify_consistency(m, k, roots[m], roots[k], [*proof, roots[m]])
        if 0 < m < k:
            # Any other old size with the same proof fails.
            for other in {m - 1, m + 1} - {0, k}:
                assert not verify_consistency(other, k, roots[other], roots[k], proof)


@PROPS
@given(entries=entries_st, data=st.data())
def test_tampered_entry_fails(entries: list[bytes], data: st.DataObject) -> None:
    n = len(entries)
    naive = ListSource.from_entries(entries)
    root = naive.root()
    i = data.draw(st.integers(0, n - 1))
    entry = entries[i]
    if entry:
        pos = data.draw(st.integers(0, len(entry) - 1))
        flip = data.draw(st.integers(1, 255))
        changed = entry[:pos] + bytes([entry[pos] ^ flip]) + entry[pos + 1 :]
    else:
        changed = b"\x00"
    assume(changed != entry)
    proof = inclusion_proof(i, n, naive)
    assert not verify_entry_inclusion(changed, i, n, proof, root)
    # Nor can a log that changed the entry prove it against the old head ...
    forged = ListSource.from_entries([*entries[:i], changed, *entries[i + 1 :]])
    assert forged.root() != root
    assert not verify_entry_inclusion(changed, i, n, inclusion_proof(i, n, forged), root)
    # ... or show the rewritten tree extends any old head covering the entry.
    for m in range(i + 1, n):
        proof = consistency_proof(m, n, forged)
        assert not verify_consistency(m, n, root_hash(naive, m), forged.root(), proof)


@PROPS
@given(entries=entries_st.filter(lambda e: len(e) >= 2), data=st.data())
def test_removed_entry_fails(entries: list[bytes], data: st.DataObject) -> None:
    n = len(entries)
    root = ListSource.from_entries(entries).root()
    r = data.draw(st.integers(0, n - 1))
    shorter = entries[:r] + entries[r + 1 :]
    forged = ListSource.from_entries(shorter)
    assert forged.root() != root
    for i in range(r, n - 1):  # every entry after the removed one moved
        proof = inclusion_proof(i, n - 1, forged)
        assert not verify_entry_inclusion(shorter[i], i, n, proof, root)
        assert not verify_entry_inclusion(shorter[i], i, n - 1, proof, root)


@PROPS
@given(entries=entries_st.filter(lambda e: len(e) >= 2), data=st.data())
def test_swapped_entries_fail(entries: list[bytes], data: st.DataObject) -> None:
    n = len(entries)
    naive = ListSource.from_entries(entries)
    root = naive.root()
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    swapped = list(entries)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    forged = ListSource.from_entries(swapped)
    assert forged.root() != root
    for k in (i, j):
        assert not verify_entry_inclusion(swapped[k], k, n, inclusion_proof(k, n, forged), root)
        # The entry's genuine proof does not prove it at the other position either.
        other = i + j - k
        genuine = inclusion_proof(other, n, naive)
        assert not verify_entry_inclusion(entries[other], k, n, genuine, root)


@PROPS
@given(entries=entries_st.filter(lambda e: len(e) >= 2), data=st.data())
def test_wrong_index_fails(entries: list[bytes], data: st.DataObject) -> None:
    n = len(entries)
    naive = ListSource.from_entries(entries)
    root = naive.root()
    i = data.draw(st.integers(0, n - 1))
    wrong = data.draw(st.integers(-1, n + 1).filter(lambda x: x != i))
    proof = inclusion_proof(i, n, naive)
    assert not verify_entry_inclusion(entries[i], wrong, n, proof, root)
    # A mutated proof fails too.
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = list(proof)
        bad[k] = (
            bad[k][: bit // 8] + bytes([bad[k][bit // 8] ^ (1 << bit % 8)]) + bad[k][bit // 8 + 1 :]
        )
        assert not verify_entry_inclusion(entries[i], i, n, bad, root)
        assert not verify_entry_inclusion(entries[i], i, n, proof[:-1], root)
    assert not verify_entry_inclusion(entries[i], i, n, [*proof, root], root)


@PROPS
@given(size=st.integers(0, 300), seed=st.binary(max_size=8))
def test_frontier_append_agrees_with_naive_root(size: int, seed: bytes) -> None:
    leaf_hashes = [hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(size)]
    naive = ListSource(leaf_hashes)
    frontier: list[bytes] = []
    completed_all: dict[tuple[int, int], bytes] = {}
    for size, lh in enumerate(leaf_hashes):
        assert frontier_root(frontier, size) == root_hash(naive, size)
        assert frontier == [naive.perfect(lv, i) for lv, i in frontier_nodes(size)]
        before = list(frontier)
        frontier, completed = frontier_append(frontier, size, lh)
        assert frontier_append(before, size, lh)[0] == frontier  # the input is not modified
        # Appending leaf `size` completes exactly the levels of its trailing one bits.
        assert [lv for lv, _, _ in completed] == list(range(1, (size ^ (size + 1)).bit_length()))
        for level, index, node in completed:
            assert node == naive.perfect(level, index)
            assert (index + 1) << level == size + 1  # the node ends at the new leaf
            completed_all[(level, index)] = node
    n = len(leaf_hashes)
    assert frontier_root(frontier, n) == root_hash(naive, n)
    # Every complete subtree of level >= 1 was reported exactly once.
    expected = {(lv, i) for lv in range(1, n.bit_length()) for i in range(n >> lv)}
    assert set(completed_all) == expected


class _Recorder:
    """A subtree hash source that records the ranges asked for."""

    def __init__(self, source: ListSource) -> None:
        self.source = source
        self.ranges: set[tuple[int, int]] = set()

    def __call__(self, start: int, end: int) -> bytes:
        self.ranges.add((start, end))
        return self.source(start, end)


@PROPS
@given(entries=entries_st, data=st.data())
def test_make_subtree_hash_agrees_on_proof_ranges(
    entries: list[bytes], data: st.DataObject
) -> None:
    naive = ListSource.from_entries(entries)
    n = len(entries)
    rec = _Recorder(naive)
    root_hash(rec, n)
    for i in range(n):
        inclusion_proof(i, n, rec)
    for k in [*data.draw(st.lists(st.integers(1, n), max_size=10)), n]:
        for m in range(k + 1):
            consistency_proof(m, k, rec)
    store = _perfect_store(naive.leaf_hashes)
    lookups: list[tuple[int, int]] = []

    def perfect(level: int, index: int) -> bytes:
        lookups.append((level, index))
        return store[(level, index)]  # KeyError if an incomplete node were asked for

    stored = make_subtree_hash(perfect)
    for start, end in rec.ranges:
        lookups.clear()
        assert stored(start, end) == naive(start, end)
        # O(log n): one perfect node per set bit of the range's size.
        assert len(lookups) == (end - start).bit_count()
        for level, index in lookups:
            assert start <= index << level and (index + 1) << level <= end


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 300), data=st.data())
def test_make_subtree_hash_any_range(size: int, data: st.DataObject) -> None:
    naive = ListSource([hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(size)])
    store = _perfect_store(naive.leaf_hashes)
    stored = make_subtree_hash(lambda lv, i: store[(lv, i)])
    start = data.draw(st.integers(0, size - 1))
    end = data.draw(st.integers(start + 1, size))
    assert stored(start, end) == naive(start, end)


# --------------------------------------------------------------------------- signed tree heads


def test_tree_head_message_layout() -> None:
    root = ROOTS[8]
    msg = treehead.tree_head_message(8, 1_700_000_000_123, root)
    assert len(msg) == 50
    assert msg[0] == 0  # version v1
    assert msg[1] == 1  # signature_type tree_hash
    assert msg[2:10] == (1_700_000_000_123).to_bytes(8, "big")
    assert msg[10:18] == (8).to_bytes(8, "big")
    assert msg[18:] == root
    for bad in [(-1, 0, root), (2**64, 0, root), (1, -1, root), (1, 0, root[:31]), (True, 0, root)]:
        with pytest.raises(ValueError):
            treehead.tree_head_message(*bad)  # type: ignore[arg-type]


def test_sign_verify_and_json_roundtrip() -> None:
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    root = ROOTS[5]
    sig = treehead.sign_tree_head(key, 5, 1234, root)
    assert len(sig) == 64
    assert treehead.verify_tree_head(pub, 5, 1234, root, sig)
    assert not treehead.verify_tree_head(pub, 6, 1234, root, sig)
    assert not treehead.verify_tree_head(pub, 5, 1235, root, sig)
    assert not treehead.verify_tree_head(pub, 5, 1234, ROOTS[4], sig)
    assert not treehead.verify_tree_head(pub, 5, 1234, root, sig[:-1] + bytes([sig[-1] ^ 1]))
    assert not treehead.verify_tree_head(
        Ed25519PrivateKey.generate().public_key(), 5, 1234, root, sig
    )
    for bad in [
        (-1, 1234, root, sig),
        (5, 1234, b"x", sig),
        (5, 1234, root, b""),
        (5, 1, root, None),
    ]:
        assert treehead.verify_tree_head(pub, *bad) is False  # type: ignore[arg-type]

    d = treehead.tree_head_to_json(5, 1234, root, sig, "log-key-1")
    assert d == {
        "tree_size": 5,
        "timestamp": 1234,
        "sha256_root_hash": base64.b64encode(root).decode(),
        "tree_head_signature": base64.b64encode(sig).decode(),
        "key_id": "log-key-1",
    }
    head = treehead.tree_head_from_json(d)
    assert head == treehead.TreeHead(5, 1234, root, sig, "log-key-1")
    assert head.to_json() == d
    assert head.verify(pub)
    assert head.message() == treehead.tree_head_message(5, 1234, root)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tree_size": "5"}, "tree_size must be an integer"),
        ({"tree_size": -1}, "tree_size must be in"),
        ({"timestamp": 1.5}, "timestamp must be an integer"),
        ({"sha256_root_hash": "not base64!"}, "sha256_root_hash is not valid"),
        ({"sha256_root_hash": base64.b64encode(b"x" * 31).decode()}, "must decode to 32"),
        ({"tree_head_signature": base64.b64encode(b"x" * 63).decode()}, "must decode to 64"),
        ({"tree_head_signature": 5}, "tree_head_signature must be a base64 string"),
        ({"key_id": ""}, "key_id must be a non-empty string"),
        ({"key_id": None}, "key_id must be a non-empty string"),
    ],
)
def test_tree_head_from_json_rejects(change: dict[str, object], message: str) -> None:
    d = treehead.tree_head_to_json(5, 1234, ROOTS[5], b"s" * 64, "k")
    d.update(change)
    with pytest.raises(ValueError, match=message):
        treehead.tree_head_from_json(d)


def test_tree_head_from_json_rejects_shape() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        treehead.tree_head_from_json([])
    d = treehead.tree_head_to_json(5, 1234, ROOTS[5], b"s" * 64, "k")
    del d["timestamp"], d["key_id"]
    with pytest.raises(ValueError, match="missing timestamp, key_id"):
        treehead.tree_head_from_json(d)


def test_jwk_roundtrip() -> None:
    pub = Ed25519PrivateKey.generate().public_key()
    jwk = treehead.public_key_to_jwk(pub, kid="k1")
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["kid"] == "k1"
    assert "=" not in jwk["x"]
    loaded = treehead.public_key_from_jwk(jwk)
    assert loaded.public_bytes_raw() == pub.public_bytes_raw()
    assert treehead.public_key_to_jwk(pub)["kid"] == treehead.jwk_thumbprint(pub)
    for bad in [
        {**jwk, "kty": "EC"},
        {**jwk, "crv": "X25519"},
        {**jwk, "x": jwk["x"][:-2]},
        {**jwk, "x": "!!!"},
        {**jwk, "d": "secret"},
        {k: v for k, v in jwk.items() if k != "x"},
    ]:
        with pytest.raises(ValueError):
            treehead.public_key_from_jwk(bad)


def test_rfc7638_thumbprint_example() -> None:
    # RFC 8037 appendix A.3: the thumbprint of the RFC 8037 A.2 public key.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    pub = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "="))
    assert treehead.jwk_thumbprint(pub) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
