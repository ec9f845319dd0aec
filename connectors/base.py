"""The one base every connector is built on (after Healthchecks' ``Transport``).

A connector does four things, always in this order: it asks the policy decision point
(``consents.policy.decide_and_log``), it moves only what the decision permits, it records the
flow in the consent log (``flow.delivered`` or ``flow.failed``, metadata only, never the
data), and on failure it raises ``ConnectorError`` saying whether a retry can help.

Synchronous flows (a provider's query, a research request, an offer) use ``Connector``
directly. Flows through the outbox subclass ``OutboxConnector``: they name themselves
(``name``, the ``OutboxItem.connector`` value) and implement ``decision_request`` (the
question for the decision point, or None for a flow that carries only consent metadata, e.g.
registering a consent in Kanta) and ``send``. A connector that acts on consent-log entries
says so itself: the log events it acts on (``events``, checked by ``acts_on``) and the outbox
items an entry causes (``outbox_items``); the log follower asks every connector of the table
(``connectors.table``) and names none.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from consents.events import EventType
from consents.log import b64, log_append
from consents.models import LogEntry
from consents.policy import Decision, DecisionRequest, decide_and_log

from .models import OutboxItem


class ConnectorError(Exception):
    """A flow failed. `permanent`: retrying the same thing cannot help (e.g. rejected input)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent

    def __str__(self) -> str:
        return f"{'permanent' if self.permanent else 'temporary'}: {self.message}"


@dataclass(frozen=True)
class Delivery:
    """What a connector reports after moving data: metadata only (counts, types, ids)."""

    recipient: str
    detail: Mapping[str, Any] = field(default_factory=dict)


class Connector:
    """Base class: ask the decision point, move what it permits, record it, raise clearly."""

    name: ClassVar[str] = ""

    def decide(self, request: DecisionRequest, *, requested_by: str = "") -> Decision:
        """Ask the one decision point; it logs the decision, permit or deny."""
        return decide_and_log(request, requested_by=requested_by or self.name)

    def record_delivered(
        self,
        *,
        subject_id: UUID | None,
        decision: Decision | None,
        delivery: Delivery,
        key: str = "",
        at: datetime | None = None,
    ) -> LogEntry:
        """Log that data was delivered; call inside the transaction that closes the flow."""
        return self._record(EventType.DATA_DELIVERED, subject_id, decision, delivery, key, at)

    def record_failed(
        self,
        *,
        subject_id: UUID | None,
        decision: Decision | None,
        recipient: str,
        error: ConnectorError,
        key: str = "",
        at: datetime | None = None,
    ) -> LogEntry:
        """Log that a permitted flow failed and nothing was delivered."""
        delivery = Delivery(recipient, {"error": error.message, "permanent": error.permanent})
        return self._record(EventType.DATA_FAILED, subject_id, decision, delivery, key, at)

    def _record(
        self,
        event: EventType,
        subject_id: UUID | None,
        decision: Decision | None,
        delivery: Delivery,
        key: str,
        at: datetime | None,
    ) -> LogEntry:
        with transaction.atomic(savepoint=False):  # no savepoint: an error ends the flow's
            return log_append(  # transaction anyway
                event_type=event,
                occurred_at=at or timezone.now(),
                subject_id=subject_id,
                consent_id=decision.consent_id if decision else None,
                consent_lineage=decision.consent_lineage if decision else None,
                kind=self.name,
                recipient=delivery.recipient[:128],
                outcome="sent" if event == EventType.DATA_DELIVERED else "failed",  # max 8 chars
                body={
                    "connector": self.name,
                    "recipient": delivery.recipient,
                    "item": key or None,
                    # The decision entry, by id and by leaf hash (which its own text proves);
                    # the consent it went under is in the entry's `about` (proven columns).
                    "decisionEntry": decision.log_entry_id if decision else None,
                    "decisionLeafHash": b64(decision.log_leaf_hash)
                    if decision and decision.log_leaf_hash
                    else None,
                    "permitted": sorted(decision.permitted_categories) if decision else None,
                    "detail": dict(delivery.detail),
                },
            )


@dataclass(frozen=True)
class LogEvent:
    """A consent-log entry as connectors see it: parsed once by the follower, with the facts
    of its consent that connectors route on (the follower knows consents, not counterparts)."""

    entry: LogEntry
    body: Mapping[str, Any]
    #: The consent's kind is registered in the national archive (Kanta).
    national: bool = False
    #: The organisations the consent concerns: recipients, senders, biobank, requester.
    organisations: frozenset[str] = frozenset()

    @property
    def consent(self) -> Mapping[str, Any]:
        return self.body.get("consent") or {}

    @property
    def lineage(self) -> UUID | None:
        lineage = self.consent.get("lineage")
        return UUID(str(lineage)) if lineage else None


@dataclass(frozen=True)
class OutboxRequest:
    """One outbox item a log entry causes: its payload, and what tells it apart from the
    connector's other items of the same entry (the key is ``<connector>:<seq>[:<part>]``)."""

    payload: dict[str, Any]
    part: str = ""


class OutboxConnector(Connector, ABC):
    """A connector whose flows go through the outbox: the worker asks it what to decide and
    has it send (see connectors.outbox)."""

    #: The log event types this connector acts on; empty: its items come from services only.
    events: ClassVar[frozenset[str]] = frozenset()

    def acts_on(self, entry: LogEntry) -> bool:
        """Whether this entry may cause items (cheap: columns only, the body is not read)."""
        return entry.event_type in self.events

    def outbox_items(self, event: LogEvent) -> Sequence[OutboxRequest]:
        """The items an entry it acts on causes (written in the follower's transaction)."""
        return ()

    @abstractmethod
    def decision_request(self, item: OutboxItem, at: datetime) -> DecisionRequest | None:
        """The question for the decision point; None only for flows of consent metadata."""

    @abstractmethod
    def send(self, item: OutboxItem, decision: Decision | None) -> Delivery:
        """Move the item's data, narrowed to what `decision` permits; raise ConnectorError."""
