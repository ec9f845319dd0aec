"""The database-backed log: stored nodes give the same roots and proofs as the RFC algorithm."""

import base64
from typing import Any

import pytest
from django.db import transaction

from consents import keys, log, merkle, treehead
from consents.events import EventType
from consents.models import LogBatch, LogEntry, LogLeaf, TreeHead


def append_n(n: int, *, integrate: bool = True) -> list[bytes]:
    """Append n entries, then (by default) integrate them, as the integrator would."""
    entries = []
    for i in range(n):
        with transaction.atomic():
            row = log.log_append(event_type=EventType.DECISION_DENY, body={"n": i})
        entries.append(row.entry.encode())
    if integrate:
        assert log.log_integrate() == n
    return entries


def test_append_outside_a_transaction_is_refused(committed_db: None) -> None:
    with pytest.raises(RuntimeError):
        log.log_append(event_type=EventType.DECISION_DENY)


def test_entries_are_canonical_json_with_gapless_sequence(db: Any) -> None:
    append_n(3, integrate=False)
    assert [r.seq for r in LogEntry.objects.order_by("id")] == [None, None, None]  # pending
    assert log.log_head().size == 0
    assert log.log_integrate() == 3
    rows = list(LogEntry.objects.order_by("leaf__seq"))
    assert [r.seq for r in rows] == [0, 1, 2]
    assert [r.id for r in rows] == sorted(r.id for r in rows)  # one writer: in commit order
    # RFC 8785: keys sorted; v2 holds no seq (the leaf index is given at integration)
    assert rows[1].entry.startswith('{"n":1,"time":')
    assert rows[1].entry.endswith(',"type":"decision.deny","v":2}')
    assert bytes(rows[1].leaf_hash) == merkle.leaf_hash(rows[1].entry.encode())
    assert log.log_integrate() == 0  # nothing is integrated twice


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 13])
def test_stored_tree_matches_the_rfc_algorithm(db: Any, size: int) -> None:
    entries = append_n(size)
    reference = merkle.ListSource.from_entries(entries)
    head = log.log_head()
    assert head.size == size and head.root_hash == reference.root()
    for seq in range(size):
        proof = log.inclusion_proof(seq=seq, tree_size=size)
        leaf = merkle.leaf_hash(entries[seq])
        assert merkle.verify_inclusion(leaf, seq, size, proof, head.root_hash)
    for first in range(0, size + 1):
        proof = log.consistency_proof(first=first, second=size)
        assert merkle.verify_consistency(first, size, log.root_at(first), head.root_hash, proof)


def test_proofs_for_sizes_the_log_does_not_have_are_refused(db: Any) -> None:
    append_n(2)
    with pytest.raises(log.ProofError):
        log.inclusion_proof(seq=0, tree_size=3)
    with pytest.raises(log.ProofError):
        log.inclusion_proof(seq=2, tree_size=2)
    with pytest.raises(log.ProofError):
        log.consistency_proof(first=2, second=1)


def test_signed_tree_head_verifies_with_the_published_key(db: Any) -> None:
    append_n(5)
    head = log.tree_head_sign()
    assert head.tree_size == 5
    assert log.tree_head_sign().pk == head.pk  # same size: the stored head is reused
    jwks = keys.public_jwks()
    [jwk] = [k for k in jwks["keys"] if k["kid"] == head.key_id]
    public = treehead.public_key_from_jwk(jwk)
    body = log.tree_head_json(head)
    assert treehead.verify_tree_head(
        public,
        body["tree_size"],
        body["timestamp"],
        base64.b64decode(body["sha256_root_hash"]),
        base64.b64decode(body["tree_head_signature"]),
    )
    assert TreeHead.objects.count() == 1


def test_append_only_triggers_are_back_after_a_committed_test(committed_db: None) -> None:
    """Runs after the committed test above (pytest-django keeps transactional tests in file
    order, after the others): the teardown flush's exemption did not outlive that test."""
    append_n(1, integrate=False)
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        LogEntry.objects.all().delete()
    log.log_integrate()
    for model in (LogLeaf, LogBatch):
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            model.objects.all().delete()
