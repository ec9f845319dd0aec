"""The lock that orders decisions with the changes they depend on.

A decision and a change that ends or halts a consent (withdrawal, pause, expiry,
termination, revocation, a change of version) of the same person must not interleave: the
log would show a permit or a delivery under a consent after the entry that ended it. So
every such change takes its subject's consent lock exclusive, and every logged decision
takes it shared, each until its transaction ends. Decisions share it and never wait for
one another; a change waits for the decisions in flight, and decisions that come after it
wait for it and then see it.

On PostgreSQL it is a transaction-level advisory lock keyed by the subject. Unlike a
SHARE row lock it queues fairly: a waiting change holds back decisions that arrive after
it, so a steady stream of data calls cannot starve a withdrawal. SQLite has no such locks;
it runs one writing transaction at a time (IMMEDIATE), which orders them anyway.
"""

from uuid import UUID

from django.db import connection

#: The first key of our advisory locks (the second is a hash of the subject id).
LOCK_SPACE = 0x7A48  # "zH": consent locks of Tahto


def _lock(subject_id: UUID, function: str) -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("the consent lock is held until the transaction ends: open one")
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, hashtext(%s))", [LOCK_SPACE, str(subject_id)])


def consent_lock_shared(subject_id: UUID) -> None:
    """Take the subject's consent lock for a decision (shared) until the transaction ends."""
    _lock(subject_id, "pg_advisory_xact_lock_shared")


def consent_lock_exclusive(subject_id: UUID) -> None:
    """Take the subject's consent lock for a change of state until the transaction ends."""
    _lock(subject_id, "pg_advisory_xact_lock")
