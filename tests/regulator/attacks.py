"""What an operator with the database's superuser could do to its own log.

Each attack takes `tamper(sql, params)`, which runs SQL past the append-only triggers (see
the `attacker` fixture), and returns what the checks must say about it.
"""

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from consents import log as consent_log
from consents import merkle
from consents.log import node_key
from consents.models import Consent, LogBatch, LogEntry, LogLeaf, LogNode, Receipt
from consents.states import Kind, Status

Tamper = Callable[[str, list[Any]], None]


def change_entry_text(tamper: Tamper) -> str:
    """A granted consent's entry says it was rejected."""
    row = (
        LogEntry.objects.integrated()
        .filter(event_type="consent.granted")
        .order_by("leaf__seq")
        .first()
    )
    assert row is not None
    changed = row.entry.replace('"consent.granted"', '"consent.rejected"')
    tamper("UPDATE consents_logentry SET entry = %s WHERE id = %s", [changed, row.id])
    return f"verification failed at entry {row.seq}:"


def deny_into_permit(tamper: Tamper) -> str:
    """The search columns of a denied flow say it was permitted, to another recipient."""
    row = (
        LogEntry.objects.integrated()
        .filter(event_type="decision.deny")
        .order_by("leaf__seq")
        .first()
    )
    assert row is not None, "the log needs a denied decision"
    tamper(
        "UPDATE consents_logentry SET event_type = %s, outcome = %s, recipient = %s WHERE id = %s",
        ["decision.permit", "permit", "1.2.246.10.9999999.10.0", row.id],
    )
    return (
        f"verification failed at entry {row.seq}: its searchable column event_type says "
        "'decision.permit' but the hashed entry says 'decision.deny'"
    )


def truncate_tail(tamper: Tamper, remove: int = 4) -> str:
    """Remove the last entries (their leaves, entry rows and receipts), their nodes, newer
    signed heads and integration batches; roll the head back to a consistent smaller tree
    (a batch row of that size, as the integrator would have written). Only a witnessed
    checkpoint can tell."""
    newest = LogBatch.objects.order_by("-size").first()
    assert newest is not None, "the log needs an integrated tail"
    size = newest.size
    keep = size - remove
    for seq in range(keep, size):
        entry_id = LogLeaf.objects.values_list("entry_id", flat=True).get(seq=seq)
        tamper("DELETE FROM consents_receipt WHERE log_entry_id = %s", [entry_id])
        tamper("DELETE FROM consents_logleaf WHERE seq = %s", [seq])
        tamper("DELETE FROM consents_logentry WHERE id = %s", [entry_id])
    for key in LogNode.objects.values_list("key", flat=True):
        level, index = key & 63, key >> 6
        if (index + 1) << level > keep:
            tamper("DELETE FROM consents_lognode WHERE key = %s", [key])
    tamper("DELETE FROM consents_treehead WHERE tree_size > %s", [keep])
    tamper("DELETE FROM consents_logbatch WHERE size >= %s", [keep])
    frontier: list[bytes] = []
    for level, index in merkle.frontier_nodes(keep):
        if level == 0:
            frontier.append(bytes(LogLeaf.objects.get(seq=index).leaf_hash))
        else:
            frontier.append(bytes(LogNode.objects.get(key=node_key(level, index)).hash))
    LogBatch.objects.create(  # an INSERT: the append-only triggers allow it anyway
        size=keep,
        entries=keep
        - (LogBatch.objects.order_by("-size").values_list("size", flat=True).first() or 0),
        frontier=[h.hex() for h in frontier],
        root_hash=merkle.frontier_root(frontier, keep),
        horizon=newest.horizon,
        integrated_at=timezone.now(),
    )
    assert consent_log.log_head().size == keep
    return "the log is shorter than a checkpoint a witness cosigned"


def delete_receipt(tamper: Tamper) -> str:
    receipt = Receipt.objects.filter(log_entry__leaf__isnull=False).order_by("log_entry_id").first()
    assert receipt is not None
    tamper("DELETE FROM consents_receipt WHERE id = %s", [receipt.id.hex])
    return (
        f"log entry {receipt.log_entry_id} ({receipt.event_type} of consent {receipt.consent_id})"
    )


def consent_without_history(tamper: Tamper, subject_id: Any) -> str:
    """An active consent that no log entry ever recorded."""
    now = timezone.now()
    consent = Consent.objects.create(
        lineage="0e6a7a4e-94c5-4c4e-9f0f-000000000001",
        id="0e6a7a4e-94c5-4c4e-9f0f-000000000001",
        kind=Kind.PROVIDER_SHARING,
        schema="consent-kinds/provider-sharing/v1",
        subject_id=subject_id,
        scope={},
        status=Status.ACTIVE,
        valid_from=now,
        created_at=now,
        updated_at=now,
    )
    return f"consent {consent.id} is active in the consents table but has no history in the log"


WITNESS = "valvira.example/w1"


def witness_cosigns_current() -> int:
    """A registered witness cosigns the current checkpoint through the operator's own path."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from consents import checkpoint as cp
    from consents import log as consent_log
    from consents import witnesses

    key = Ed25519PrivateKey.generate()
    witnesses.witness_register(vkey=cp.vkey(WITNESS, key.public_key(), 0x04), label="Valvira")
    head = consent_log.tree_head_sign()
    note = witnesses.checkpoint_note(head)
    text = cp.parse_note(note).text
    witnesses.cosignatures_add(note=note + cp.cosign(text, WITNESS, key, 1_772_000_000).line())
    return head.tree_size
