"""The integrator on PostgreSQL: concurrent writers, commits out of id order, killed integrators.

Writers and the integrator each run on a connection of their own (a thread each), driven one
step at a time in an order hypothesis chooses: begin, take a transaction id early, append,
commit, roll back, integrate with any batch size, die half-way through a batch. After every
step no committed entry is skipped or integrated twice and the tree is the RFC 6962 tree of
the integrated entries. A real integrator process is killed with SIGKILL in mid-batch.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from consents import log, merkle
from consents.events import EventType
from consents.models import LogEntry, LogLeaf
from tests.consents.test_log_integrator import Crash, tree_is_right
from tests.services.conftest import ROOT, _database_url, wait_for

pytestmark = pytest.mark.services


class Session:
    """A database connection in a thread of its own, driven one step at a time."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[Callable[[], Any] | None] = queue.Queue()
        self.outbox: queue.Queue[tuple[bool, Any]] = queue.Queue()
        self.atomic: Any = None
        self.pending: list[int] = []
        self.has_xid = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (step := self.inbox.get()) is not None:
                try:
                    self.outbox.put((True, step()))
                except BaseException as exc:  # handed to the caller, who re-raises it
                    self.outbox.put((False, exc))
        finally:
            connection.close()

    def __call__(self, step: Callable[[], Any]) -> Any:
        self.inbox.put(step)
        ok, value = self.outbox.get(timeout=60)
        if not ok:
            raise value
        return value

    # writer steps
    def begin(self) -> None:
        if self.atomic is None:
            self.atomic = transaction.atomic()
            self(self.atomic.__enter__)

    def take_xid(self) -> None:
        self.begin()

        def xid() -> None:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_current_xact_id()")

        self(xid)
        self.has_xid = True

    def append(self, n: int) -> None:
        self.begin()
        for _ in range(n):
            row = self(lambda: log.log_append(event_type=EventType.DECISION_DENY, body={"w": 1}))
            self.pending.append(row.id)
        self.has_xid = True

    def end(self, *, commit: bool, committed: set[int]) -> None:
        if self.atomic is None:
            return
        atomic, self.atomic = self.atomic, None
        if commit:
            self(lambda: atomic.__exit__(None, None, None))
            committed.update(self.pending)
        else:
            self(lambda: atomic.__exit__(Crash, Crash(), None))
        self.pending, self.has_xid = [], False

    def close(self) -> None:
        self.inbox.put(None)
        self.thread.join(timeout=30)


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["append", "xid", "commit", "rollback", "integrate", "crash"]),
        st.integers(0, 2),  # which writer
        st.integers(1, 4),  # entries to append, or the batch size
        st.integers(0, 3),  # where a crash strikes (leaves inserted before it)
    ),
    min_size=4,
    max_size=24,
)


@hsettings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_concurrent_writers_and_a_dying_integrator_skip_nothing_and_double_nothing(
    committed_db: None, steps: list[tuple[str, int, int, int]]
) -> None:
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    committed = set(LogEntry.objects.values_list("id", flat=True))  # earlier examples
    writers = [Session() for _ in range(3)]
    integrator = Session()
    crashes = 0
    try:
        for op, w, n, at in steps:
            writer = writers[w]
            if op == "append":
                writer.append(n)
            elif op == "xid":
                writer.take_xid()
            elif op in ("commit", "rollback"):
                writer.end(commit=op == "commit", committed=committed)
            elif op == "integrate":
                integrator(partial(log.log_integrate, batch=n))
                # Every committed entry, whatever still runs: nothing waits for a writer.
                integrated = set(LogLeaf.objects.values_list("entry_id", flat=True))
                assert integrated == committed
            else:

                def die(leaves: int, at: int = at) -> None:
                    if leaves > at:
                        raise Crash

                try:
                    integrator(partial(log.log_integrate, batch=n, pause=die))
                except Crash:
                    crashes += 1  # the dead batch must have left nothing: checked below
            tree_is_right(committed)
        for writer in writers:
            writer.end(commit=True, committed=committed)
        integrator(log.log_integrate)
        tree_is_right(committed)
        assert set(LogLeaf.objects.values_list("entry_id", flat=True)) == committed
    finally:
        for session in (*writers, integrator):
            if session.atomic is not None:
                session.end(commit=False, committed=set())
            session.close()


def test_an_entry_committed_after_a_later_one_is_integrated_after_it(committed_db: None) -> None:
    """A takes its transaction id first and appends (lower entry id), B appends and commits:
    B's entry is integrated while A runs, A's once A commits (below the horizon B's batch
    could have reached, had it not stopped at A's running transaction), each exactly once."""
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    a, b, integrator = Session(), Session(), Session()
    committed: set[int] = set()
    try:
        a.take_xid()
        b.take_xid()
        a.append(1)
        b.append(1)
        [first], [second] = a.pending, b.pending
        assert first < second  # A's entry id is the lower one
        b.end(commit=True, committed=committed)
        assert integrator(log.log_integrate) == 1
        assert LogEntry.objects.get(id=second).seq == 0
        assert not LogLeaf.objects.filter(entry_id=first).exists()  # A runs: not yet seen
        a.end(commit=True, committed=committed)
        assert integrator(log.log_integrate) == 1
        assert LogEntry.objects.get(id=first).seq == 1
        tree_is_right(committed)
    finally:
        for session in (a, b, integrator):
            session.close()


def _integrator_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "TAHTO_KEY_DIR": str(settings.TAHTO_KEY_DIR),
        "TAHTO_VAR_DIR": str(tmp_path),
    }


PAUSED_INTEGRATOR = """
import os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mydata_operator.settings")
django.setup()
from consents import log

def pause(leaves):
    print("paused with", leaves, "leaves", flush=True)
    time.sleep(120)

log.log_integrate(batch=10, pause=pause)
"""


def test_integrator_killed_mid_batch_loses_nothing_and_frees_the_lock(
    committed_db: None, tmp_path: Path
) -> None:
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    with transaction.atomic():
        ids = {
            log.log_append(event_type=EventType.DECISION_DENY, body={"i": i}).id for i in range(25)
        }
    proc = subprocess.Popen(  # noqa: S603 - this interpreter running a fixed script
        [sys.executable, "-c", PAUSED_INTEGRATOR],
        cwd=ROOT,
        env=_integrator_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("paused with 10 leaves")
        assert log.log_integrate() == 0  # the paused one holds the guard: no second integrator
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not LogLeaf.objects.exists()  # the dead batch left nothing behind
    done: list[int] = []

    def integrated() -> bool:
        done.append(log.log_integrate())
        return done[-1] > 0

    wait_for(integrated, 10, "the dead integrator's lock to go")
    assert done[-1] == 25
    tree_is_right(ids)


def _is_integrated(entry_id: int) -> bool:
    return LogLeaf.objects.filter(entry_id=entry_id).exists()


def test_integrator_process_publishes_a_signed_head_for_every_commit(
    committed_db: None, tmp_path: Path
) -> None:
    """`manage.py log_integrator`, as bin/run-service starts it, integrates what commits and
    signs the heads. (How soon, the merge delay, is measured by `make bench`, not here.)"""
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: set DATABASE_URL=postgres://...")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "log_integrator", "--poll", "0.05"],
        cwd=ROOT,
        env=_integrator_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for i in range(5):
            with transaction.atomic():
                row = log.log_append(event_type=EventType.DECISION_DENY, body={"i": i})
            wait_for(partial(_is_integrated, row.id), 60, "the entry's integration")
            signed = log.tree_head_sign()
            assert signed.tree_size == i + 1
            assert (
                bytes(signed.root_hash)
                == merkle.ListSource.from_entries(
                    [e.entry.encode() for e in log.iter_integrated()]
                ).root()
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0  # a clean stop on SIGTERM
