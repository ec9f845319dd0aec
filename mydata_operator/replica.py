"""Reads that may come from a PostgreSQL streaming replica, and the router that sends them there.

`DATABASES["replica"]` exists only when `DATABASE_REPLICA_URL` is set; without it every
query goes to `default` (the embedded SQLite mode and `make run` are unchanged). A face marks
the views whose reads may lag behind the primary with `@reads_from_replica` (today: the
regulator's search, drill-down, export, statistics and integrity pages and API). Inside one:

* every read goes to the replica, in one REPEATABLE READ snapshot for the whole view, so the
  signed tree head, the entries, the proofs and the witnesses' cosignatures a page shows are
  one state of the replica: a head never cites an entry the replica lacks, and a cosignature
  newer than the head is never compared with it;
* every write goes to the primary (the router sends no write anywhere else), and a read inside
  a transaction on the primary stays on the primary, so a service reads what it writes;
* a replica that cannot be reached falls back to the primary, with a warning in the log.

Replication lag is therefore bounded by what the replica holds, not hidden: the head a
regulator sees is the newest the replica has replayed, never newer.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction

logger = logging.getLogger(__name__)

REPLICA = "replica"

#: True while the current view's reads may be served by the replica.
_replica_reads: ContextVar[bool] = ContextVar("tahto_replica_reads", default=False)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """Reads inside `replica_reads()` go to the replica; writes and migrations to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if not _replica_reads.get():
            return None  # Django's default: the primary (or the instance's own database)
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS  # a service reads what its own transaction wrote
        return REPLICA

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica is a copy of the primary: their rows may refer to each other

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


def _replica_reachable() -> bool:
    try:
        connections[REPLICA].ensure_connection()
    except OperationalError:
        logger.warning("the database replica cannot be reached; reading from the primary")
        connections[REPLICA].close()
        return False
    return True


@contextlib.contextmanager
def replica_reads(*, snapshot: bool = True) -> Iterator[str]:
    """Send this block's reads to the replica; yield the alias they go to.

    `snapshot`: read in one REPEATABLE READ, READ ONLY transaction on the replica (a view);
    without it each query sees the replica's newest state (a long stream, whose reads are
    pinned to a tree size instead, so no transaction holds back replay on the standby).
    """
    if not replica_configured() or _replica_reads.get() or not _replica_reachable():
        yield DEFAULT_DB_ALIAS if not _replica_reads.get() else REPLICA
        return
    token = _replica_reads.set(True)
    try:
        if not snapshot:
            yield REPLICA
            return
        with transaction.atomic(using=REPLICA):
            if connections[REPLICA].vendor == "postgresql":
                with connections[REPLICA].cursor() as cur:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield REPLICA
    finally:
        _replica_reads.reset(token)


def reads_from_replica(view: F) -> F:
    """Decorate a view (function or method) whose reads may come from the replica."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with replica_reads():
            return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]  # same signature as the view


def stream_from_replica(items: Iterable[T]) -> Iterator[T]:
    """Iterate `items` (a streamed response's body) with its reads on the replica.

    The view has returned before a streamed body is read, so its snapshot is gone; each
    chunk's queries are sent to the replica on their own, and the router is left as it was
    between chunks."""
    iterator = iter(items)
    while True:
        with replica_reads(snapshot=False):
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item
