"""Sequence, then integrate: what the request records, and what the integrator makes of it.

The property test drives appends, rolled-back appends, integrations of any batch size and
integrators that die half-way through a batch, in any order, and checks after every step that
no committed entry is skipped or integrated twice and that the tree is the RFC 6962 tree of the
integrated entries. (On PostgreSQL, with concurrent writers that commit out of id order and a
killed integrator process: tests/services/test_log_integrator.py.)
"""

import json
import uuid
import zoneinfo
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consents import log, merkle
from consents.events import EventType
from consents.models import LogBatch, LogDailyCount, LogEntry, LogLeaf, TreeHead


class Crash(Exception):
    """Stands for the integrator's process dying in the middle of a batch."""


def tree_is_right(committed: set[int]) -> None:
    """Every committed entry integrated once, contiguous leaves, heads over the right tree."""
    leaves = list(LogLeaf.objects.order_by("seq").values_list("seq", "entry_id", "leaf_hash"))
    assert [s for s, _, _ in leaves] == list(range(len(leaves)))  # no gap, no index twice
    entry_ids = [e for _, e, _ in leaves]
    assert len(set(entry_ids)) == len(entry_ids)  # no entry twice
    assert set(entry_ids) <= committed  # nothing that was rolled back
    texts = dict(LogEntry.objects.values_list("id", "entry"))
    reference = merkle.ListSource.from_entries([texts[e].encode() for e in entry_ids])
    assert [bytes(h) for _, _, h in leaves] == reference.leaf_hashes
    head = log.log_head()
    assert head.size == len(leaves)
    assert head.root_hash == (reference.root() if leaves else merkle.EMPTY_ROOT)
    for batch in LogBatch.objects.all():  # every batch's head is a prefix of this tree
        assert bytes(batch.root_hash) == merkle.root_hash(reference.subtree_hash, batch.size)
        signed = TreeHead.objects.get(tree_size=batch.size)
        assert bytes(signed.root_hash) == bytes(batch.root_hash)
    daily_counts_are_right(entry_ids)


def daily_counts_are_right(integrated: list[int]) -> None:
    """The daily counts hold exactly the integrated entries, each once."""
    zone = zoneinfo.ZoneInfo(django_settings.TIME_ZONE)
    expected: Counter[tuple[Any, ...]] = Counter()
    for e in LogEntry.objects.filter(id__in=integrated):
        day = e.occurred_at.astimezone(zone).date()
        expected[(day, e.event_type, e.kind, e.recipient, e.outcome)] += 1
    counted = {
        (c.day, c.event_type, c.kind, c.recipient, c.outcome): c.entries
        for c in LogDailyCount.objects.all()
    }
    assert counted == dict(expected)
    # and the integrity check's recount agrees, having compared every row
    assert log.daily_counts_compare() == log.DailyCountsComparison(len(counted), [])


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 4)),
        st.tuples(st.just("rollback"), st.integers(1, 3)),
        st.tuples(st.just("integrate"), st.integers(1, 6)),
        st.tuples(st.just("crash"), st.integers(1, 6), st.integers(0, 5)),
    ),
    max_size=14,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_no_entry_is_skipped_or_integrated_twice(db: Any, ops: list[tuple[Any, ...]]) -> None:
    with transaction.atomic():  # each example starts from an empty log and leaves none
        committed: set[int] = set()
        n = 0
        for op in ops:
            if op[0] == "append":
                with transaction.atomic():
                    for _ in range(op[1]):
                        committed.add(log.log_append(event_type="decision.deny", body={"n": n}).id)
                        n += 1
            elif op[0] == "rollback":
                with pytest.raises(Crash), transaction.atomic():
                    for _ in range(op[1]):
                        log.log_append(event_type="decision.deny", body={"lost": n})
                    raise Crash
            elif op[0] == "integrate":
                log.log_integrate(batch=op[1])
                integrated = set(LogLeaf.objects.values_list("entry_id", flat=True))
                assert integrated == committed  # all of them, whatever the batch size
            else:
                _, batch, at = op
                before = log.log_head()

                def die(leaves: int, at: int = at) -> None:
                    if leaves > at:
                        raise Crash

                try:
                    log.log_integrate(batch=batch, pause=die)
                except Crash:
                    # The batch that died left nothing; earlier batches of the call stand.
                    assert log.log_head().size >= before.size
            tree_is_right(committed)
        log.log_integrate()
        tree_is_right(committed)
        assert set(LogLeaf.objects.values_list("entry_id", flat=True)) == committed
        transaction.set_rollback(True)


def test_integrating_nothing_writes_nothing(db: Any) -> None:
    assert log.log_integrate() == 0
    assert not LogBatch.objects.exists() and not TreeHead.objects.exists()
    assert log.log_head() == log.Head(0, merkle.EMPTY_ROOT)


def test_bad_batch_size_is_refused(db: Any) -> None:
    with pytest.raises(ValueError, match="batch must be at least 1, got 0"):
        log.log_integrate(batch=0)


def test_iter_integrated_yields_leaf_order_from_any_start(db: Any) -> None:
    with transaction.atomic():
        for i in range(7):
            log.log_append(event_type=EventType.DECISION_DENY, body={"n": i})
    with transaction.atomic():
        pending = log.log_append(event_type=EventType.DECISION_DENY, body={"n": 7})
    log.log_integrate(batch=3)
    with transaction.atomic():
        log.log_append(event_type=EventType.DECISION_DENY, body={"n": 8})  # pending
    assert [e.seq for e in log.iter_integrated(batch=2)] == list(range(8))
    assert [json.loads(e.entry)["n"] for e in log.iter_integrated(5, batch=2)] == [5, 6, 7]
    assert list(log.iter_integrated(8)) == []
    assert log.entry_place(entry_id=pending.id).seq == 7
    with pytest.raises(ValueError, match="start >= 0"):
        list(log.iter_integrated(-1))


def test_entry_place_says_pending_then_gives_the_leaf_index(db: Any) -> None:
    with transaction.atomic():
        row = log.log_append(event_type=EventType.DECISION_DENY)
    assert row.seq is None
    place = log.entry_place(entry_id=row.id)
    assert place.pending and place.leaf_hash == bytes(row.leaf_hash)
    with pytest.raises(LogEntry.DoesNotExist, match="pending integration is found by its"):
        log.entry_place(leaf_hash=bytes(row.leaf_hash))
    log.log_integrate()
    assert log.entry_place(entry_id=row.id).seq == 0
    assert log.entry_place(leaf_hash=bytes(row.leaf_hash)).entry_id == row.id
    with pytest.raises(ValueError, match="exactly one"):
        log.entry_place()


# --- The entry format ---------------------------------------------------------------------

TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=20,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    subject=st.none() | st.uuids(),
    actor=st.none() | st.uuids(),
    consent=st.none() | st.uuids(),
    lineage=st.none() | st.uuids(),
    kind=TEXT.map(lambda s: s[:32]),
    recipient=TEXT,
    purpose=TEXT,
    outcome=st.sampled_from(["", "permit", "deny", "sent", "failed"]),
    micros=st.integers(0, 999_999),
)
def test_searchable_columns_are_derived_from_the_hashed_entry(
    db: Any,
    subject: uuid.UUID | None,
    actor: uuid.UUID | None,
    consent: uuid.UUID | None,
    lineage: uuid.UUID | None,
    kind: str,
    recipient: str,
    purpose: str,
    outcome: str,
    micros: int,
) -> None:
    at = datetime(2026, 3, 2, 9, 30, 0, micros, tzinfo=UTC)
    with transaction.atomic():
        row = log.log_append(
            event_type=EventType.DECISION_PERMIT,
            occurred_at=at,
            subject_id=subject,
            actor_id=actor,
            consent_id=consent,
            consent_lineage=lineage,
            kind=kind,
            recipient=recipient,
            purpose=purpose,
            outcome=outcome,
            body={"detail": {"x": 1}},
        )
        stored = LogEntry.objects.get(id=row.id)
        columns = log.entry_columns(json.loads(stored.entry))
        assert columns == {
            "event_type": "decision.permit",
            "occurred_at": at,
            "subject_id": subject,
            "actor_id": actor,
            "consent_id": consent,
            "consent_lineage": lineage,
            "kind": kind,
            "recipient": recipient,
            "purpose": purpose,
            "outcome": outcome,
        }
        assert {k: getattr(stored, k) for k in columns} == columns
        assert "seq" not in json.loads(stored.entry)
        transaction.set_rollback(True)


def test_person_identifiers_go_through_person_ref(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """One function names people in entries: swapping it changes every person field."""
    subject, actor = uuid.uuid4(), uuid.uuid4()
    monkeypatch.setattr(log, "person_ref", lambda pid: None if pid is None else f"p:{pid}")
    obj = log.entry_v2(
        event_type="consent.granted",
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
        subject_id=subject,
        actor_id=actor,
        about={},
        body=None,
    )
    assert obj["subject"] == f"p:{subject}" and obj["actor"] == f"p:{actor}"


def test_v1_entries_still_give_the_columns_they_hold(db: Any) -> None:
    """A v1 entry (before `about`) yields its columns from its body's shape."""
    subject = uuid.uuid4()
    consent = uuid.uuid4()
    v1 = {
        "v": 1,
        "seq": 4,
        "type": "consent.granted",
        "time": "2026-03-02T09:30:00.000000Z",
        "subject": str(subject),
        "consent": {"id": str(consent), "kind": "biobank", "requestedBy": "1.2.3"},
    }
    assert log.entry_columns(v1) == {
        "event_type": "consent.granted",
        "occurred_at": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        "subject_id": subject,
        "actor_id": None,
        "consent_id": consent,
        "consent_lineage": None,
        "kind": "biobank",
        "recipient": "1.2.3",
        "purpose": "",
        "outcome": "",
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ([], "a log entry is a JSON object, got list"),
        ({"v": 3}, "unknown log entry version 3"),
        ({"v": 2, "type": ""}, "'type' must be a non-empty string"),
        ({"v": 2, "type": "x", "time": "2026-03-02"}, "'time' must be UTC with microseconds"),
        (
            {"v": 2, "type": "x", "time": "2026-03-02T09:30:00.000000Z", "subject": "nobody"},
            "'subject' is not a person reference",
        ),
        (
            {"v": 2, "type": "x", "time": "2026-03-02T09:30:00.000000Z", "about": {"kind": 1}},
            "'about.kind' must be a string",
        ),
        (
            {
                "v": 2,
                "type": "x",
                "time": "2026-03-02T09:30:00.000000Z",
                "about": {"consent": "no"},
            },
            "'about.consent' is not a UUID",
        ),
    ],
)
def test_malformed_entries_say_which_field_is_wrong(entry: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        log.entry_columns(entry)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("purpose", "x" * 65, "log entry purpose is longer than 64 characters"),
        ("outcome", "permitted", "log entry outcome is longer than 8 characters"),
        ("recipient", "a\x00b", "log entry recipient contains a NUL character"),
    ],
)
def test_a_column_that_does_not_fit_is_refused_by_name(
    db: Any, field: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message), transaction.atomic():
        arguments: dict[str, Any] = {field: value}
        log.log_append(event_type=EventType.DECISION_DENY, **arguments)
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("key", ["seq", "about", "v", "type"])
def test_a_body_may_not_use_the_reserved_keys(db: Any, key: str) -> None:
    with pytest.raises(ValueError, match=f"reserved keys \\['{key}'\\]"), transaction.atomic():
        log.log_append(event_type=EventType.DECISION_DENY, body={key: 1})
    assert not LogEntry.objects.exists()


# --- The integrator's process ---------------------------------------------------------------


def test_integrator_command_once_integrates_what_is_pending(db: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    with transaction.atomic():
        log.log_append(event_type=EventType.DECISION_DENY)
        log.log_append(event_type=EventType.DECISION_DENY)
    out = StringIO()
    call_command("log_integrator", "--once", stdout=out)
    assert out.getvalue().strip() == "integrated 2 entries"
    assert log.log_head().size == 2


@pytest.mark.parametrize("poll", ["0", "-1", "nan"])
def test_integrator_command_refuses_a_poll_that_is_not_positive(db: Any, poll: str) -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--poll must be a positive number of seconds"):
        call_command("log_integrator", "--poll", poll)


def test_integrator_loop_integrates_until_told_to_stop(db: Any) -> None:
    with transaction.atomic():
        log.log_append(event_type=EventType.DECISION_DENY)
    rounds = iter(range(3))
    log.log_integrator_run(poll=0.01, stop=lambda: next(rounds, None) is None)
    assert log.log_head().size == 1
    assert TreeHead.objects.filter(tree_size=1).exists()


def test_daily_counts_add_each_batch_to_the_day_in_the_service_time_zone(db: Any) -> None:
    # 23:30 UTC on 1 March is 01:30 on 2 March in Helsinki: counted on the 2nd.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    with transaction.atomic():
        for outcome in ("permit", "permit", "deny"):
            log.log_append(
                event_type=f"decision.{outcome}",
                occurred_at=late,
                recipient="1.2.246.10.1",
                outcome=outcome,
                kind="provider-access",
            )
    log.log_integrate(batch=2)  # two batches: the second adds to the first's counts
    rows = sorted(LogDailyCount.objects.values_list("day", "event_type", "outcome", "entries"))
    assert [(str(d), t, o, n) for d, t, o, n in rows] == [
        ("2026-03-02", "decision.deny", "deny", 1),
        ("2026-03-02", "decision.permit", "permit", 2),
    ]
