"""The subject's consent lock on PostgreSQL: decisions share it, a change of state waits for
them, and decisions that come after a waiting change queue behind it (no starvation)."""

import threading
import time
import uuid
from collections.abc import Callable

import pytest
from django.db import OperationalError, connection, transaction

from consents.locks import consent_lock_exclusive, consent_lock_shared

pytestmark = pytest.mark.services


def _in_thread(body: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        try:
            body()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _try(take: Callable[[uuid.UUID], None], subject: uuid.UUID) -> bool:
    """Take the lock in a transaction of its own, giving up after half a second."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '500ms'")
            take(subject)
        return True
    except OperationalError:
        return False


def test_decisions_share_the_lock_and_a_change_waits_for_them(committed_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    subject, other = uuid.uuid4(), uuid.uuid4()
    held, release = threading.Event(), threading.Event()

    def decision_in_flight() -> None:
        with transaction.atomic():
            consent_lock_shared(subject)
            held.set()
            release.wait(10)

    holder = _in_thread(decision_in_flight)
    assert held.wait(10)
    results: dict[str, bool] = {}

    def attempts() -> None:
        results["another decision"] = _try(consent_lock_shared, subject)
        results["a withdrawal"] = _try(consent_lock_exclusive, subject)
        results["another person's withdrawal"] = _try(consent_lock_exclusive, other)

    _in_thread(attempts).join(10)
    release.set()
    holder.join(10)
    assert results == {
        "another decision": True,
        "a withdrawal": False,
        "another person's withdrawal": True,
    }


def test_a_waiting_change_holds_back_decisions_that_come_after_it(committed_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    subject = uuid.uuid4()
    held, release = threading.Event(), threading.Event()
    order: list[str] = []

    def decision_in_flight() -> None:
        with transaction.atomic():
            consent_lock_shared(subject)
            held.set()
            release.wait(10)
            order.append("first decision")

    def withdrawal() -> None:
        with transaction.atomic():
            consent_lock_exclusive(subject)
            order.append("withdrawal")

    def later_decision() -> None:
        with transaction.atomic():
            consent_lock_shared(subject)
            order.append("later decision")

    first = _in_thread(decision_in_flight)
    assert held.wait(10)
    change = _in_thread(withdrawal)
    time.sleep(0.3)  # the withdrawal is queued behind the first decision
    later = _in_thread(later_decision)
    time.sleep(0.3)  # a row SHARE lock would let this one jump the queue; this lock does not
    assert order == []
    release.set()
    for thread in (first, change, later):
        thread.join(10)
    assert order == ["first decision", "withdrawal", "later decision"]
