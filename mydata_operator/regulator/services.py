"""The regulator app's only write, the audit entry of each query, and the head check.

A regulator changes nothing in the consent log or the consents. What they do is itself
appended to the log (an `audit.query` entry: who, which action, which filter, never the
result). What they saw of the log is remembered by their witness, on their own machine; the
current head is checked against the newest checkpoint a witness cosigned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction

from consents import keys, merkle, witnesses
from consents import log as consent_log
from consents.events import EventType
from consents.models import Cosignature, LogEntry, TreeHead
from consents.treehead import verify_tree_head
from mydata_operator.identity.models import Regulator


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
    """The current signed head checked against the newest checkpoint a witness cosigned."""

    head: TreeHead
    previous_size: int | None  # the witnessed size; None: no witness has cosigned yet
    ok: bool
    message: str
    witnessed: Cosignature | None = None


def _signature_ok(head: TreeHead) -> bool:
    public = keys.public_keys().get(head.key_id)
    if public is None:
        return False
    return verify_tree_head(
        public, head.tree_size, head.timestamp_ms, bytes(head.root_hash), bytes(head.signature)
    )


def consistency_failure(*, old_size: int, old_root: bytes, new: TreeHead, who: str) -> str | None:
    """Why the log at `new` does not extend the tree (old_size, old_root); None if it does."""
    if old_size > new.tree_size:
        return (
            f"the log shrank: {who} cosigned a checkpoint of size {old_size}, "
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
            f"that {who} cosigned: the consistency proof does not verify"
        )
    return None


def tree_head_check() -> HeadCheck:
    """Sign (or fetch) the current head and prove it extends the newest witnessed checkpoint.

    What the regulators saw is remembered by their witnesses, on their own machines; what is
    kept here is only the witnesses' cosignatures, which nobody here can forge. A witness
    whose memory disagrees refuses to cosign, whatever this database says.
    """
    head = consent_log.tree_head_sign()
    if not _signature_ok(head):
        failure = f"the signature of the tree head of size {head.tree_size} does not verify"
        return HeadCheck(head, None, False, failure)
    newest = witnesses.newest_witnessed()
    if newest is None:
        return HeadCheck(head, None, True, "no witness has cosigned a checkpoint of this log yet")
    who = f"witness {newest.witness.label or newest.witness.name}"
    if not witnesses.cosignature_verified(newest):
        failure = f"the stored cosignature of size {newest.tree_size} by {who} does not verify"
        return HeadCheck(head, newest.tree_size, False, failure, newest)
    why = consistency_failure(
        old_size=newest.tree_size, old_root=bytes(newest.root_hash), new=head, who=who
    )
    if why is not None:
        return HeadCheck(head, newest.tree_size, False, why, newest)
    return HeadCheck(
        head,
        newest.tree_size,
        True,
        f"size {head.tree_size} proven to extend size {newest.tree_size} cosigned by {who}",
        newest,
    )
