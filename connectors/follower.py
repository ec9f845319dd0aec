"""The log follower: turns consent changes in the log into outbox items, in log order.

It reads the entries after its cursor (``LogCursor``), and in ONE transaction writes the
items they cause and advances the cursor, so every entry is handled exactly once even if the
process dies at any point. Entries become visible in sequence order (appends are serialised
by the log head's row lock until commit), so the cursor never skips one.

What an entry causes:
* a consent of a national kind (biobank, needs assessment, provider sharing) is registered in
  Kanta as FHIR Consent when it comes into force, and every later change, pause, withdrawal
  or end is sent too (``kanta.consent``);
* the providers concerned (the consent's recipient organisations and the one that asked for
  it) get a signed notification at each registered webhook (``provider.webhook``), with
  consent metadata only: id, lineage, version, kind, status, event and time.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.db import transaction

from consents.events import EventType
from consents.kinds import KINDS
from consents.models import LogEntry

from .models import Endpoint, LogCursor
from .outbox import outbox_enqueue

FOLLOWER = "connectors"

#: Events that put a consent in force or change one that is (or was) registered in Kanta.
KANTA_EVENTS = frozenset(
    {
        EventType.CONSENT_GRANTED,
        EventType.CONSENT_APPROVED,
        EventType.CONSENT_CHANGED,
        EventType.CONSENT_PAUSED,
        EventType.CONSENT_RESUMED,
        EventType.CONSENT_WITHDRAWN,
        EventType.CONSENT_REVOKED,
        EventType.CONSENT_TERMINATED,
        EventType.CONSENT_EXPIRED,
    }
)

#: Consent events providers hear about (a superseded version is told by its "changed").
WEBHOOK_EVENTS = frozenset(
    e for e in EventType if e.value.startswith("consent.") and e != EventType.CONSENT_SUPERSEDED
)


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


def notification(entry: LogEntry, consent: dict[str, Any]) -> dict[str, Any]:
    """What a provider is told about a consent change: metadata only, never health data."""
    return {
        "event": entry.event_type,
        "logSeq": entry.seq,
        "time": json.loads(entry.entry)["time"],
        "consent": {
            "id": consent.get("id"),
            "lineage": consent.get("lineage"),
            "version": consent.get("version"),
            "kind": consent.get("kind"),
            "status": consent.get("status"),
        },
    }


def _handle(entry: LogEntry) -> int:
    if not entry.event_type.startswith("consent."):
        return 0
    body = json.loads(entry.entry)
    consent = body.get("consent") or {}
    written = 0
    lineage = UUID(consent["lineage"]) if consent.get("lineage") else None
    # A request that ends before approval (expired, terminated, revoked) was never in force.
    never_in_force = (
        body.get("fromStatus") == "requested" and entry.event_type != EventType.CONSENT_APPROVED
    )
    if entry.event_type in KANTA_EVENTS and _national(consent.get("kind")) and not never_in_force:
        _, created = outbox_enqueue(
            connector="kanta.consent",
            key=f"kanta.consent:{entry.seq}",
            payload={"consentId": consent["id"], "event": entry.event_type},
            subject_id=entry.subject_id,
            consent_lineage=lineage,
            log_seq=entry.seq,
        )
        written += created
    if entry.event_type in WEBHOOK_EVENTS:
        endpoints = Endpoint.objects.filter(
            kind=Endpoint.Kind.WEBHOOK, active=True, organisation_id__in=_organisations(consent)
        ).order_by("organisation_id", "url")
        for endpoint in endpoints:
            _, created = outbox_enqueue(
                connector="provider.webhook",
                key=f"provider.webhook:{entry.seq}:{endpoint.id}",
                payload={
                    "endpoint": str(endpoint.id),
                    "notification": notification(entry, consent),
                },
                subject_id=entry.subject_id,
                consent_lineage=lineage,
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
        entries = list(LogEntry.objects.filter(seq__gte=cursor.next_seq).order_by("seq")[:batch])
        for entry in entries:
            written += _handle(entry)
        if entries:
            cursor.next_seq = entries[-1].seq + 1
            cursor.save(update_fields=["next_seq"])
    return written
