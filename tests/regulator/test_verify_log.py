"""`manage.py verify_log` checks the stored log; an attacker with database rights is caught.

The attacker runs SQL past the append-only triggers (dropped and re-created on SQLite,
`session_replication_role = replica` on PostgreSQL), as a database superuser could.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from consents import log as consent_log
from consents.merkle import leaf_hash
from consents.models import LogEntry, TreeHead
from tests.regulator import attacks
from tests.regulator.conftest import Tamper
from tests.regulator.exports import download, inclusion, run_tool

pytestmark = pytest.mark.usefixtures("frozen_now")


@pytest.fixture
def signed(attacker: Tamper, populated: int) -> int:
    """A populated log with a signed tree head over all of it."""
    return consent_log.tree_head_sign().tree_size


def verify_log() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_log", stdout=out)
    return out.getvalue()


def failure() -> str:
    with pytest.raises(CommandError) as caught:
        verify_log()
    assert caught.value.returncode == 1
    return str(caught.value)


def entry_text(seq: int) -> str:
    return LogEntry.objects.values_list("entry", flat=True).get(leaf__seq=seq)


def test_untouched_log_verifies(signed: int) -> None:
    consent_log.tree_head_sign()
    assert f"verified {signed} entries" in verify_log()


def test_changed_entry_is_caught_at_that_entry(attacker: Tamper, signed: int) -> None:
    changed = entry_text(4).replace('"consent.granted"', '"consent.rejected"')
    assert changed != entry_text(4)
    attacker(
        "UPDATE consents_logentry SET entry = %s WHERE id = "
        "(SELECT entry_id FROM consents_logleaf WHERE seq = %s)",
        [changed, 4],
    )
    assert failure().startswith("verification failed at entry 4:")


def test_changed_entry_with_its_leaf_hash_recomputed_is_caught(
    attacker: Tamper, signed: int
) -> None:
    body = json.loads(entry_text(3))
    body["purpose"] = "marketing"
    import rfc8785

    changed = rfc8785.dumps(body).decode()
    attacker(
        "UPDATE consents_logentry SET entry = %s, leaf_hash = %s WHERE id = "
        "(SELECT entry_id FROM consents_logleaf WHERE seq = %s)",
        [changed, leaf_hash(changed.encode()), 3],
    )
    attacker(
        "UPDATE consents_logleaf SET leaf_hash = %s WHERE seq = %s",
        [leaf_hash(changed.encode()), 3],
    )
    message = failure()
    assert "verification failed at entry" in message
    assert "does not match the entries" in message or "do not hash to the root" in message


def test_removed_entry_is_caught(attacker: Tamper, signed: int) -> None:
    entry = LogEntry.objects.get(leaf__seq=5).id
    attacker("DELETE FROM consents_logleaf WHERE seq = %s", [5])
    attacker("DELETE FROM consents_logentry WHERE id = %s", [entry])
    assert failure().startswith("verification failed at entry 5: entry 5 is missing")


def test_removed_last_entry_is_caught(attacker: Tamper, signed: int) -> None:
    entry = LogEntry.objects.get(leaf__seq=signed - 1).id
    attacker("DELETE FROM consents_logleaf WHERE seq = %s", [signed - 1])
    attacker("DELETE FROM consents_logentry WHERE id = %s", [entry])
    assert f"verification failed at entry {signed - 1}" in failure()


def test_reordered_entries_are_caught(attacker: Tamper, signed: int) -> None:
    first, second = entry_text(2), entry_text(6)
    attacker(
        "UPDATE consents_logentry SET entry = %s, leaf_hash = %s WHERE id = "
        "(SELECT entry_id FROM consents_logleaf WHERE seq = %s)",
        [second, leaf_hash(second.encode()), 2],
    )
    attacker(
        "UPDATE consents_logentry SET entry = %s, leaf_hash = %s WHERE id = "
        "(SELECT entry_id FROM consents_logleaf WHERE seq = %s)",
        [first, leaf_hash(first.encode()), 6],
    )
    assert failure().startswith(
        "verification failed at entry 2: the leaf hash in the tree is not the hash stored "
        "with the entry"
    )


def test_reordered_leaves_are_caught(attacker: Tamper, signed: int) -> None:
    """The same swap made in the tree's leaf table too: the stored nodes no longer match."""
    a, b = LogEntry.objects.get(leaf__seq=2), LogEntry.objects.get(leaf__seq=6)
    attacker("UPDATE consents_logleaf SET entry_id = %s WHERE seq = %s", [-1, 2])
    attacker(
        "UPDATE consents_logleaf SET entry_id = %s, leaf_hash = %s WHERE seq = %s",
        [a.id, bytes(a.leaf_hash), 6],
    )
    attacker(
        "UPDATE consents_logleaf SET entry_id = %s, leaf_hash = %s WHERE seq = %s",
        [b.id, bytes(b.leaf_hash), 2],
    )
    message = failure()
    assert message.startswith("verification failed at entry")
    assert "does not match the entries" in message or "do not hash to the root" in message


def test_forged_tree_head_is_caught(attacker: Tamper, signed: int) -> None:
    head = TreeHead.objects.get(tree_size=signed)
    attacker(
        "UPDATE consents_treehead SET root_hash = %s WHERE tree_size = %s",
        [bytes(32), head.tree_size],
    )
    assert "does not verify" in failure()


def test_export_from_a_tampered_database_fails_the_stand_alone_verifier(
    attacker: Tamper, signed: int, regulator_client: Client, tmp_path: Path
) -> None:
    changed = entry_text(4).replace('"consent.granted"', '"consent.withdrawn"')
    attacker(
        "UPDATE consents_logentry SET entry = %s WHERE id = "
        "(SELECT entry_id FROM consents_logleaf WHERE seq = %s)",
        [changed, 4],
    )
    export = download(regulator_client, tmp_path, tree_size=str(signed))
    done = inclusion(run_tool, export)
    assert done.returncode == 1
    assert "verification failed at entry 4:" in done.stderr


def test_signed_head_that_disagrees_with_the_entries_is_reported(
    attacker: Tamper, signed: int, regulator: Any
) -> None:
    # A validly signed head of size 3 over some other history than the stored one.
    from consents import keys, merkle
    from consents.treehead import sign_tree_head

    early = 3
    root = merkle.ListSource([bytes(32)] * early).root()
    key = keys.signing_key()
    sig = sign_tree_head(key.private_key, early, 1, root)
    attacker(
        "INSERT INTO consents_treehead (tree_size, timestamp_ms, root_hash, signature, key_id)"
        " VALUES (%s, %s, %s, %s, %s)",
        [early, 1, root, sig, key.kid],
    )
    message = failure()
    assert "do not hash to the root of the signed tree head of size 3" in message


def test_changed_right_edge_of_the_head_is_caught(attacker: Tamper, signed: int) -> None:
    """The next batch builds on the stored right edge: a rewritten one is an alarm."""
    from django.db import connection

    edge = '["' + "00" * 32 + '"]'
    if connection.vendor == "postgresql":
        sql = "UPDATE consents_logbatch SET frontier = CAST(%s AS jsonb) WHERE size = %s"
    else:
        sql = "UPDATE consents_logbatch SET frontier = %s WHERE size = %s"
    attacker(sql, [edge, signed])
    assert "the log head's right edge does not match the entries" in failure()


# --- the attacks of the issue: each is noticed by verify_log and by the periodic check -------


def periodic_alarm() -> str:
    """Run the periodic task's code; it stores and logs an alarm. Return its problems."""
    from consents.models import IntegrityCheck
    from mydata_operator.regulator.tasks import log_integrity_check_task

    assert log_integrity_check_task() is False
    check = IntegrityCheck.objects.filter(source="periodic").latest("id")
    assert not check.ok
    assert check.log_entry_id is not None
    logged = LogEntry.objects.get(id=check.log_entry_id)
    assert (logged.event_type, logged.outcome) == ("audit.integrity", "alarm")
    return "\n".join(check.problems)


def test_untouched_log_passes_every_check_and_the_result_is_stored_and_logged(
    signed: int,
) -> None:
    from consents.models import IntegrityCheck
    from mydata_operator.regulator.tasks import log_integrity_check_task

    assert log_integrity_check_task() is True
    check = IntegrityCheck.objects.get(source="periodic")
    assert check.ok and check.problems == [] and check.entries == signed
    assert check.log_entry_id is not None
    assert check.consents > 0 and check.receipts > 0
    assert LogEntry.objects.get(id=check.log_entry_id).outcome == "ok"
    assert "verified" in verify_log()  # and the audit.integrity entries verify too


def test_changed_entry_text_is_noticed_by_both(attacker: Tamper, signed: int) -> None:
    from consents.models import IntegrityCheck

    expected = attacks.change_entry_text(attacker)
    assert failure().startswith(expected)
    assert periodic_alarm().startswith(expected)
    # The log itself does not verify, so the daily counts were not compared: no number.
    assert IntegrityCheck.objects.get(source="periodic").daily_counts is None


def test_deny_turned_into_permit_in_the_search_columns_is_noticed_by_both(
    attacker: Tamper, signed: int
) -> None:
    expected = attacks.deny_into_permit(attacker)
    assert expected in failure()
    assert expected in periodic_alarm()


def test_truncated_tail_with_the_head_rolled_back_is_noticed_against_the_witness(
    attacker: Tamper, signed: int
) -> None:
    witnessed = attacks.witness_cosigns_current()
    expected = attacks.truncate_tail(attacker)
    assert consent_log.log_head().size == witnessed - 4  # a consistent, smaller tree
    message = failure()
    assert expected in message
    assert f"cosigned size {witnessed}, only {witnessed - 4} entries are stored" in message
    assert expected in periodic_alarm()


def test_deleted_receipt_is_noticed_by_both(attacker: Tamper, signed: int) -> None:
    expected = attacks.delete_receipt(attacker)
    assert expected in failure()
    assert "no receipt for it is stored" in periodic_alarm()


def test_consent_with_no_history_is_noticed_by_both(
    attacker: Tamper, signed: int, citizen: Any
) -> None:
    expected = attacks.consent_without_history(attacker, citizen.id)
    assert expected in failure()
    assert expected in periodic_alarm()


def test_consent_whose_state_was_changed_in_the_table_is_noticed(
    attacker: Tamper, signed: int
) -> None:
    from consents.models import Consent

    consent = Consent.objects.filter(status="withdrawn").first()
    assert consent is not None
    Consent.objects.filter(id=consent.id).update(status="active")  # an ordinary table
    assert f"consent {consent.id} is active in the consents table, but its log history ends " in (
        failure()
    )


def test_integrity_page_shows_the_last_check(
    attacker: Tamper, signed: int, regulator_client: Client
) -> None:
    attacks.delete_receipt(attacker)
    periodic_alarm()
    text = regulator_client.get("/regulator/integrity/").content.decode()
    assert "ALARM" in text and "no receipt for it is stored" in text


# --- the daily counts the regulator's statistics read ----------------------------------------


def daily_count(event_type: str) -> Any:
    from consents.models import LogDailyCount

    return LogDailyCount.objects.get(event_type=event_type)


def test_daily_counts_of_entries_near_midnight_agree_with_the_log(signed: int) -> None:
    """The recount takes the day in the service's time zone, as the integrator does: 23:30
    UTC on 1 March is 2 March in Helsinki, and a UTC recount would see two wrong days."""
    from datetime import UTC, datetime

    from django.db import transaction

    from consents.events import EventType

    with transaction.atomic():
        consent_log.log_append(
            event_type=EventType.DECISION_DENY,
            occurred_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
            outcome="deny",
        )
    consent_log.log_integrate()
    consent_log.tree_head_sign()
    from consents.models import LogDailyCount

    assert {str(d) for d in LogDailyCount.objects.values_list("day", flat=True)} == {"2026-03-02"}
    rows = LogDailyCount.objects.count()
    assert consent_log.daily_counts_compare() == consent_log.DailyCountsComparison(rows, [])
    assert "verified" in verify_log()


def stored_daily_counts() -> int:
    from consents.models import LogDailyCount

    return LogDailyCount.objects.count()


def test_both_record_how_many_daily_count_rows_they_compared(signed: int) -> None:
    from consents.models import IntegrityCheck
    from mydata_operator.regulator.tasks import log_integrity_check_task

    rows = stored_daily_counts()
    assert rows > 1
    assert f"receipts and {rows} daily counts" in verify_log()
    assert log_integrity_check_task() is True
    # verify_log's own audit.integrity entry is not integrated yet, so no new count row.
    for source in ("verify_log", "periodic"):
        check = IntegrityCheck.objects.get(source=source)
        assert check.daily_counts == rows and check.log_entry_id is not None, source
        logged = json.loads(LogEntry.objects.get(id=check.log_entry_id).entry)
        assert logged["check"]["dailyCounts"] == rows


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "{} daily counts of the statistics"),
        ("fi", "{} tilastojen päivälaskuria"),
        ("sv", "{} dagsräkningar för statistiken"),
    ],
)
def test_integrity_page_shows_how_many_daily_counts_a_check_compared(
    signed: int, regulator_client: Client, language: str, words: str
) -> None:
    from mydata_operator.regulator.tasks import log_integrity_check_task

    assert log_integrity_check_task() is True
    regulator_client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    text = regulator_client.get("/regulator/integrity/").content.decode()
    assert words.format(stored_daily_counts()) in text


def test_daily_count_raised_by_one_is_noticed_by_both(attacker: Tamper, signed: int) -> None:
    row = daily_count("decision.permit")
    attacker("UPDATE consents_logdailycount SET entries = entries + 1 WHERE id = %s", [row.id])
    expected = (
        f"the daily count of {row.day} for decision.permit (kind {row.kind!r}, recipient "
        f"{row.recipient!r}, outcome 'permit') says {row.entries + 1} entries, but the log "
        f"has {row.entries}"
    )
    assert expected in failure()
    assert expected in periodic_alarm()


def test_deleted_daily_count_is_noticed_by_both(attacker: Tamper, signed: int) -> None:
    row = daily_count("consent.withdrawn")
    rows = stored_daily_counts()
    attacker("DELETE FROM consents_logdailycount WHERE id = %s", [row.id])
    expected = (
        f"the daily count of {row.day} for consent.withdrawn (kind {row.kind!r}, recipient "
        f"{row.recipient!r}, outcome {row.outcome!r}) is missing: the log has {row.entries} "
        "such entries"
    )
    assert expected in failure()
    assert expected in periodic_alarm()
    from consents.models import IntegrityCheck

    # The row that is gone was not compared: both checks say one row fewer than before.
    assert stored_daily_counts() == rows - 1
    for source in ("verify_log", "periodic"):
        assert IntegrityCheck.objects.get(source=source).daily_counts == rows - 1, source


def test_extra_daily_count_is_noticed_by_both(attacker: Tamper, signed: int) -> None:
    """A count row for a day with no entries: statistics of decisions that never happened."""
    attacker(
        "INSERT INTO consents_logdailycount (day, event_type, kind, recipient, outcome, entries)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        ["2026-02-27", "decision.permit", "", "1.2.246.10.9999999.10.0", "permit", 500],
    )
    expected = (
        "the daily count of 2026-02-27 for decision.permit (kind '', recipient "
        "'1.2.246.10.9999999.10.0', outcome 'permit') says 500 entries, but the log has none"
    )
    assert expected in failure()
    assert expected in periodic_alarm()
