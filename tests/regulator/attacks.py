"""What an operator with the database's superuser could do to its own log.

Each attack takes `tamper(sql, params)`, which runs SQL past the append-only triggers (see
the `attacker` fixture), and returns what the checks must say about it.
"""

import json
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from consents import merkle
from consents.log import node_key
from consents.models import Consent, LogEntry, LogNode, Receipt
from consents.states import Kind, Status

Tamper = Callable[[str, list[Any]], None]


def change_entry_text(tamper: Tamper) -> str:
    """A granted consent's entry says it was rejected."""
    row = LogEntry.objects.filter(event_type="consent.granted").order_by("seq").first()
    assert row is not None
    changed = row.entry.replace('"consent.granted"', '"consent.rejected"')
    tamper("UPDATE consents_logentry SET entry = %s WHERE seq = %s", [changed, row.seq])
    return f"verification failed at entry {row.seq}:"


def deny_into_permit(tamper: Tamper) -> str:
    """The search columns of a denied flow say it was permitted, to another recipient."""
    row = LogEntry.objects.filter(event_type="decision.deny").order_by("seq").first()
    assert row is not None, "the log needs a denied decision"
    tamper(
        "UPDATE consents_logentry SET event_type = %s, outcome = %s, recipient = %s WHERE seq = %s",
        ["decision.permit", "permit", "1.2.246.10.9999999.10.0", row.seq],
    )
    return (
        f"verification failed at entry {row.seq}: its searchable column event_type says "
        "'decision.permit' but the hashed entry says 'decision.deny'"
    )


def truncate_tail(tamper: Tamper, remove: int = 4) -> str:
    """Remove the last entries, their nodes, newer signed heads and receipts; roll back the
    head to a consistent smaller tree. Only a witnessed checkpoint can tell."""
    size = LogEntry.objects.count()
    keep = size - remove
    for seq in range(keep, size):
        tamper("DELETE FROM consents_receipt WHERE log_seq = %s", [seq])
        tamper("DELETE FROM consents_logentry WHERE seq = %s", [seq])
    for key in LogNode.objects.values_list("key", flat=True):
        level, index = key & 63, key >> 6
        if (index + 1) << level > keep:
            tamper("DELETE FROM consents_lognode WHERE key = %s", [key])
    tamper("DELETE FROM consents_treehead WHERE tree_size > %s", [keep])
    frontier = []
    for level, index in merkle.frontier_nodes(keep):
        if level == 0:
            frontier.append(bytes(LogEntry.objects.get(seq=index).leaf_hash).hex())
        else:
            frontier.append(bytes(LogNode.objects.get(key=node_key(level, index)).hash).hex())
    tamper(
        "UPDATE consents_loghead SET size = %s, frontier = %s WHERE id = 1",
        [keep, json.dumps(frontier)],
    )
    return "the log is shorter than a checkpoint a witness cosigned"


def delete_receipt(tamper: Tamper) -> str:
    receipt = Receipt.objects.order_by("log_seq").first()
    assert receipt is not None
    tamper("DELETE FROM consents_receipt WHERE id = %s", [receipt.id.hex])
    return f"log entry {receipt.log_seq} ({receipt.event_type} of consent {receipt.consent_id})"


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
