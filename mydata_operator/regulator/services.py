"""The regulator app's only writes: the audit entry of each query, and the last head seen.

A regulator changes nothing in the consent log or the consents. What they do is itself
appended to the log (an `audit.query` entry: who, which action, which filter, never the
result), and the newest tree head they saw is kept to prove the log only grew since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone

from consents import keys, merkle
from consents import log as consent_log
from consents.events import EventType
from consents.models import LogEntry, TreeHead
from consents.treehead import verify_tree_head
from mydata_operator.identity.models import Regulator

from .models import SeenTreeHead


def audit_query_log(
    *, regulator: Regulator, action: str, query: dict[str, Any] | None = None
) -> LogEntry:
    """Append the audit entry of one regulator query (search, export, drill-down, statistics)."""
    with transaction.atomic():
        return consent_log.log_append(
            event_type=EventType.AUDIT_QUERY,
            body={
                "regulator": {
                    "user": regulator.user_id,
                    "organisation": regulator.organisation,
                },
                "action": action,
                "query": query or {},
            },
        )


@dataclass(frozen=True)
class HeadCheck:
    """The outcome of checking the current signed head against the last one a regulator saw."""

    head: TreeHead
    previous_size: int | None  # None: this regulator had seen no head before
    ok: bool
    message: str


def _signature_ok(head: TreeHead) -> bool:
    public = keys.public_keys().get(head.key_id)
    if public is None:
        return False
    return verify_tree_head(
        public, head.tree_size, head.timestamp_ms, bytes(head.root_hash), bytes(head.signature)
    )


def consistency_failure(*, old_size: int, old_root: bytes, new: TreeHead) -> str | None:
    """Why the log at `new` does not extend the tree (old_size, old_root); None if it does."""
    if old_size > new.tree_size:
        return (
            f"the log shrank: a head of size {old_size} was seen before, "
            f"the log now signs only {new.tree_size} entries"
        )
    try:
        proof = consent_log.consistency_proof(first=old_size, second=new.tree_size)
    except (consent_log.ProofError, ObjectDoesNotExist, ValueError) as exc:
        # A missing leaf or node row means the stored tree itself is damaged.
        return f"no consistency proof from size {old_size} to {new.tree_size}: {exc}"
    if not merkle.verify_consistency(
        old_size, new.tree_size, old_root, bytes(new.root_hash), proof
    ):
        return (
            f"the log of size {new.tree_size} does not extend the log of size {old_size} "
            "that was seen before: the consistency proof does not verify"
        )
    return None


def tree_head_check(*, regulator: Regulator) -> HeadCheck:
    """Sign (or fetch) the current head and prove it extends the last head this regulator saw.

    On success the current head becomes the one seen; on failure the old one is kept, so the
    warning stays until someone looks into it.
    """
    head = consent_log.tree_head_sign()
    now = timezone.now()
    with transaction.atomic():
        seen = SeenTreeHead.objects.select_for_update().filter(regulator=regulator).first()
        failure = None
        if not _signature_ok(head):
            failure = f"the signature of the tree head of size {head.tree_size} does not verify"
        elif seen is not None:
            failure = consistency_failure(
                old_size=seen.tree_size, old_root=bytes(seen.root_hash), new=head
            )
        if failure is not None:
            if seen is not None:
                seen.failed_at, seen.failure = now, failure
                seen.save(update_fields=["failed_at", "failure"])
            return HeadCheck(head, seen.tree_size if seen else None, False, failure)
        previous = seen.tree_size if seen else None
        SeenTreeHead.objects.update_or_create(
            regulator=regulator,
            defaults={
                "tree_size": head.tree_size,
                "timestamp_ms": head.timestamp_ms,
                "root_hash": bytes(head.root_hash),
                "signature": bytes(head.signature),
                "key_id": head.key_id,
                "seen_at": now,
                "failed_at": None,
                "failure": "",
            },
        )
    if previous is None:
        message = f"first tree head seen: size {head.tree_size}"
    else:
        message = f"size {head.tree_size} proven to extend the size {previous} seen before"
    return HeadCheck(head, previous, True, message)
