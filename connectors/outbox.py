"""The transactional outbox: write an item with its cause, deliver it once, never lose it.

``outbox_enqueue`` runs inside the transaction of the change that causes the flow, so the
item commits with it or not at all; after commit a task is sent, and the periodic sweep
(``outbox_due``) finds anything whose task was lost. ``outbox_deliver`` claims an item by
compare-and-set (only one worker sends it; a claim older than the claim timeout belongs to a
dead worker and may be taken again), asks the decision point AGAIN at the moment of sending
(a withdrawal that landed meanwhile stops it: DENIED), sends, and closes the item with its
log entry in one transaction. The payload is erased once delivered or denied. Temporary
errors retry with exponential back-off; permanent ones park the item with its reason.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from celery import signature
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .base import Connector, ConnectorError
from .models import OutboxItem
from .table import CONNECTORS, connector_for

logger = logging.getLogger(__name__)

S = OutboxItem.Status

#: The task that delivers one item (connectors.tasks), sent by name: the tasks module imports
#: this one, so importing it back would make a cycle.
DELIVER_TASK = "connectors.tasks.outbox_deliver_task"


def _send_task(item_id: int) -> None:
    """After commit: ask a worker to deliver now. If the broker is away, the sweep will."""
    try:
        signature(DELIVER_TASK, args=(item_id,)).apply_async()
    except Exception:  # the item is committed; the periodic sweep finds it
        logger.warning("could not send the task for outbox item %s; the sweep will", item_id)


def outbox_enqueue(
    *,
    connector: str,
    key: str,
    payload: dict[str, Any],
    subject_id: UUID | None = None,
    consent_lineage: UUID | None = None,
    log_seq: int | None = None,
    now: datetime | None = None,
) -> tuple[OutboxItem, bool]:
    """Write one item in the caller's transaction; the same key twice is one item."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the transaction of its cause")
    now = now or timezone.now()
    item, created = OutboxItem.objects.get_or_create(
        key=key,
        defaults={
            "connector": connector,
            "payload": payload,
            "subject_id": subject_id,
            "consent_lineage": consent_lineage,
            "log_seq": log_seq,
            "next_attempt_at": now,
            "enqueued_at": now,  # its task is sent after commit
            "created_at": now,
            "updated_at": now,
        },
    )
    if created:
        transaction.on_commit(lambda pk=item.pk: _send_task(pk))  # type: ignore[misc]
    return item, created


def backoff(attempts: int) -> timedelta:
    """Exponential back-off with 10 % jitter: base, 2 base, 4 base, ... up to the cap."""
    base = settings.TAHTO_OUTBOX_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    capped = min(base, settings.TAHTO_OUTBOX_BACKOFF_MAX_SECONDS)
    return timedelta(seconds=capped * (1 + 0.1 * random.random()))  # noqa: S311 - jitter only


def _claim(item_id: int, now: datetime) -> bool:
    stale = now - timedelta(seconds=settings.TAHTO_OUTBOX_CLAIM_TIMEOUT_SECONDS)
    return bool(
        OutboxItem.objects.filter(pk=item_id)
        .filter(
            Q(status=S.PENDING, next_attempt_at__lte=now)
            | Q(status=S.SENDING, claimed_at__lt=stale)
        )
        .update(status=S.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now)
    )


def _close(item: OutboxItem, claimed_at: datetime, **changes: Any) -> bool:
    """Compare-and-set from our claim to the outcome; False if another worker took it over."""
    changes["updated_at"] = timezone.now()
    return bool(
        OutboxItem.objects.filter(pk=item.pk, status=S.SENDING, claimed_at=claimed_at).update(
            **changes
        )
    )


def outbox_deliver(item_id: int, *, now: datetime | None = None) -> str:
    """Deliver one item if it is due and nobody else holds it; return its status after."""
    now = now or timezone.now()
    if not _claim(item_id, now):
        current = OutboxItem.objects.filter(pk=item_id).values_list("status", flat=True).first()
        return str(current or "missing")
    item = OutboxItem.objects.get(pk=item_id)
    try:
        connector = connector_for(item.connector)
        request = connector.decision_request(item, now)
        decision = connector.decide(request) if request is not None else None
    except ConnectorError as exc:
        return _fail(item, now, exc, None)
    if decision is not None and not decision.permit:
        _close(item, now, status=S.DENIED, payload=None, last_error=decision.explanation)
        logger.info("outbox %s denied at sending: %s", item.key, decision.reason)
        return S.DENIED
    try:
        delivery = connector.send(item, decision)
    except ConnectorError as exc:
        return _fail(item, now, exc, decision)
    with transaction.atomic():
        if _close(item, now, status=S.DONE, payload=None, last_error=""):
            connector.record_delivered(
                subject_id=item.subject_id, decision=decision, delivery=delivery, key=item.key
            )
    return S.DONE


def _fail(item: OutboxItem, now: datetime, exc: ConnectorError, decision: Any) -> str:
    give_up = exc.permanent or item.attempts >= settings.TAHTO_OUTBOX_MAX_ATTEMPTS
    if not give_up:
        _close(
            item,
            now,
            status=S.PENDING,
            next_attempt_at=now + backoff(item.attempts),
            last_error=str(exc)[:2000],
        )
        logger.warning("outbox %s attempt %s failed: %s", item.key, item.attempts, exc)
        return S.PENDING
    reason = str(exc) if exc.permanent else f"gave up after {item.attempts} attempts: {exc}"
    with transaction.atomic():
        if _close(item, now, status=S.PARKED, last_error=reason[:2000]):
            # An item whose connector left the table is still parked and logged, by a plain one.
            CONNECTORS.get(item.connector, Connector()).record_failed(
                subject_id=item.subject_id,
                decision=decision,
                recipient=item.connector,
                error=ConnectorError(reason, exc.permanent),
                key=item.key,
            )
    logger.error("outbox %s parked: %s", item.key, reason)
    return S.PARKED


def outbox_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Items to send a task for now, marked as sent so the next sweep does not repeat it.

    Due: pending items whose attempt time has come and whose task for that attempt was not
    sent yet (or was sent longer than the claim timeout ago and so may be lost), and items
    claimed by a worker that died. So a worker that is down for an hour does not find a
    queue of the same item sent by every sweep.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.TAHTO_OUTBOX_CLAIM_TIMEOUT_SECONDS)
    due = list(
        OutboxItem.objects.filter(
            Q(
                Q(enqueued_at__isnull=True)
                | Q(enqueued_at__lt=F("next_attempt_at"))
                | Q(enqueued_at__lt=stale),
                status=S.PENDING,
                next_attempt_at__lte=now,
            )
            | Q(status=S.SENDING, claimed_at__lt=stale)
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    OutboxItem.objects.filter(id__in=due).update(enqueued_at=now)
    return due


def outbox_retry(*, item_id: int, now: datetime | None = None) -> bool:
    """Re-drive a parked item (an operator's act, after the cause was fixed)."""
    now = now or timezone.now()
    return bool(
        OutboxItem.objects.filter(pk=item_id, status=S.PARKED).update(
            status=S.PENDING, attempts=0, next_attempt_at=now, updated_at=now
        )
    )


def outbox_discard(*, item_id: int, reason: str) -> bool:
    """Give up on a parked item for good: its payload is erased, the reason kept."""
    return bool(
        OutboxItem.objects.filter(pk=item_id, status=S.PARKED).update(
            payload=None, last_error=f"discarded: {reason}"[:2000], updated_at=timezone.now()
        )
    )
