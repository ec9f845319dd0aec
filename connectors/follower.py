"""The log follower: turns consent changes in the log into outbox items, in log order.

It reads the entries after its cursor (``LogCursor``), and in ONE transaction writes the
items they cause and advances the cursor, so every entry is handled exactly once even if the
process dies at any point. It follows the integrated order (leaf indexes, given by the log's
integrator after commit with no gaps), so the cursor never skips one.

What an entry causes, the connectors say themselves (``connectors.table``): each says which
log events it acts on (``acts_on``) and which outbox items an entry causes
(``outbox_items``); the follower hands them the entry parsed once with the facts of its
consent (its kind is national; the organisations it concerns) and names no counterpart.
"""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

from django.db import transaction

from consents.kinds import KINDS
from consents.log import iter_integrated
from consents.models import LogEntry

from .base import LogEvent
from .models import LogCursor
from .outbox import outbox_enqueue
from .table import outbox_connectors

FOLLOWER = "connectors"


def _organisations(consent: dict[str, Any]) -> set[str]:
    """The organisations a consent concerns: its recipients, senders, biobank, requester."""
    scope = consent.get("scope") or {}
    orgs = {consent.get("requestedBy") or ""}
    kind = KINDS.get(str(consent.get("kind")))
    if kind is not None:  # the kind says which organisations its scope names
        orgs.update(str(party.get("organisation") or "") for party in kind.organisations(scope))
    orgs.discard("")
    return orgs


def _national(kind: Any) -> bool:
    """Is the kind registered nationally in Kanta (its module says)?"""
    return kind in KINDS and KINDS[kind].national


def _event(entry: LogEntry) -> LogEvent:
    """The entry parsed once, with the facts of its consent that connectors route on."""
    body = json.loads(entry.entry)
    consent = body.get("consent") or {}
    return LogEvent(
        entry=entry,
        body=body,
        national=_national(consent.get("kind")),
        organisations=frozenset(_organisations(consent)),
    )


def _handle(entry: LogEntry) -> int:
    """Write the items every connector that acts on `entry` asks for; return how many."""
    acting = [c for c in outbox_connectors() if c.acts_on(entry)]
    if not acting:
        return 0
    event = _event(entry)
    written = 0
    for connector in acting:
        for request in connector.outbox_items(event):
            _, created = outbox_enqueue(
                connector=connector.name,
                key=":".join(filter(None, (connector.name, str(entry.seq), request.part))),
                payload=request.payload,
                subject_id=entry.subject_id,
                consent_lineage=event.lineage,
                log_seq=entry.seq,
            )
            written += created
    return written


def log_follow(*, batch: int = 500) -> int:
    """Handle up to `batch` new log entries; return how many outbox items were written."""
    written = 0
    with transaction.atomic():
        LogCursor.objects.get_or_create(name=FOLLOWER)
        cursor = LogCursor.objects.select_for_update().get(name=FOLLOWER)
        entries = list(islice(iter_integrated(cursor.next_seq, batch=batch), batch))
        for entry in entries:
            written += _handle(entry)
        if entries:
            cursor.next_seq += len(entries)  # leaf indexes are contiguous
            cursor.save(update_fields=["next_seq"])
    return written
