"""Every searchable column of the log comes from the hashed entry, by one function.

A v2 entry names its columns under `about`; a v1 entry (logged before the sequencer) yields
them from its body's shape, as the parametrised cases below show."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from django.db import transaction

from consents import log
from consents.events import EventType
from consents.models import LogEntry

SUBJECT = UUID("11111111-1111-4111-8111-111111111111")
CONSENT = UUID("22222222-2222-4222-8222-222222222222")
TIME = "2026-03-02T09:30:00.000000Z"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {
                "type": "consent.granted",
                "time": TIME,
                "subject": str(SUBJECT),
                "actor": str(SUBJECT),
                "consent": {
                    "id": str(CONSENT),
                    "lineage": str(CONSENT),
                    "kind": "provider-sharing",
                    "scope": {"recipient": {"organisation": "1.2.3"}},
                },
            },
            {"kind": "provider-sharing", "recipient": "1.2.3", "consent_id": CONSENT},
        ),
        (
            {
                "type": "consent.requested",
                "time": TIME,
                "consent": {
                    "id": str(CONSENT),
                    "lineage": str(CONSENT),
                    "kind": "biobank",
                    "scope": {},
                    "requestedBy": "4.5.6",
                },
            },
            {"kind": "biobank", "recipient": "4.5.6", "actor_id": None},
        ),
        (
            {
                "type": "decision.deny",
                "time": TIME,
                "subject": str(SUBJECT),
                "flow": "provider-access",
                "recipient": {"kantaPhr": True},
                "decision": {"outcome": "deny", "reason": "no-consent"},
            },
            {
                "kind": "provider-access",
                "recipient": "kanta-phr",
                "outcome": "deny",
                "purpose": "",
                "consent_id": None,
            },
        ),
        (
            {
                "type": "decision.permit",
                "time": TIME,
                "flow": "provider-access",
                "purpose": "care",
                "recipient": {"organisation": "1.2.3", "providerKind": "x"},
                "decision": {
                    "outcome": "permit",
                    "consent": {"id": str(CONSENT), "lineage": str(CONSENT)},
                },
            },
            {
                "recipient": "1.2.3",
                "purpose": "care",
                "outcome": "permit",
                "consent_lineage": CONSENT,
            },
        ),
        (
            {
                "type": "flow.delivered",
                "time": TIME,
                "connector": "kanta",
                "recipient": "r" * 200,
                "consent": {"id": str(CONSENT), "lineage": str(CONSENT)},
            },
            {"kind": "kanta", "recipient": "r" * 128, "outcome": "sent", "consent_id": CONSENT},
        ),
        (
            {"type": "flow.failed", "time": TIME, "connector": "kanta", "recipient": "x"},
            {"outcome": "failed", "consent_id": None},
        ),
        (
            {"type": "audit.integrity", "time": TIME, "check": {"ok": False}},
            {"outcome": "alarm", "kind": ""},
        ),
        (
            {"type": "audit.query", "time": TIME, "action": "search"},
            {"outcome": "", "recipient": "", "subject_id": None},
        ),
    ],
)
def test_columns_are_derived_from_the_entry(
    entry: dict[str, Any], expected: dict[str, Any]
) -> None:
    columns = log.entry_columns({"v": 1, **entry})
    assert columns["event_type"] == entry["type"]
    assert columns["occurred_at"] == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    for name, value in expected.items():
        assert columns[name] == value, name


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ([], "is a JSON object, got list"),
        ({"type": "consent.granted", "time": TIME}, "unknown log entry version None"),
        ({"v": 2, "time": TIME}, "'type' must be a non-empty string"),
        ({"v": 2, "type": "consent.granted", "time": "yesterday"}, "'time' must be UTC"),
        (
            {"v": 1, "type": "consent.granted", "time": TIME, "subject": "nobody"},
            "'subject' is not a person reference",
        ),
        (
            {"v": 1, "type": "consent.granted", "time": TIME, "consent": {"id": "x"}},
            "consent id is not a UUID",
        ),
        (
            {"v": 2, "type": "consent.granted", "time": TIME, "about": {"consent": "x"}},
            "'about.consent' is not a UUID",
        ),
    ],
)
def test_unreadable_entry_is_a_clear_error(entry: Any, message: str) -> None:
    with pytest.raises(log.EntryFormatError, match=message):
        log.entry_columns(entry)


def test_append_puts_every_column_in_the_hashed_entry(db: Any) -> None:
    with transaction.atomic():
        row = log.log_append(
            event_type=EventType.DECISION_DENY, outcome="deny", purpose="care", consent_id=CONSENT
        )
    about = json.loads(row.entry)["about"]
    assert about == {"outcome": "deny", "purpose": "care", "consent": str(CONSENT)}


def test_append_refuses_a_column_that_does_not_fit(db: Any) -> None:
    with (
        pytest.raises(ValueError, match="outcome is longer than 8 characters"),
        transaction.atomic(),
    ):
        log.log_append(event_type=EventType.DECISION_DENY, outcome="permitted!")
    assert not LogEntry.objects.exists()


def test_stored_columns_are_the_derived_ones(db: Any) -> None:
    with transaction.atomic():
        row = log.log_append(
            event_type=EventType.DATA_FAILED,
            kind="kanta",
            recipient="1.2.3",
            outcome="failed",
            body={"connector": "kanta", "recipient": "1.2.3"},
        )
    stored = LogEntry.objects.get(id=row.id)
    derived = log.entry_columns(json.loads(stored.entry))
    assert {k: getattr(stored, k) for k in derived} == derived


def test_iter_integrated_reads_in_leaf_order_across_batches(db: Any) -> None:
    for i in range(7):
        with transaction.atomic():
            log.log_append(event_type=EventType.DECISION_DENY, body={"i": i})
    assert log.log_integrate() == 7
    assert [e.seq for e in log.iter_integrated(start=0, batch=3)] == list(range(7))
    assert [e.seq for e in log.iter_integrated(start=5, batch=2)] == [5, 6]
