"""A real Celery worker, in its own process, on the real broker and the test database.

These tests run in `make test-services` (and so in .ci/run) against PostgreSQL and Redis or
RabbitMQ; `make test` leaves them out. Run on anything else they fail with a clear message.
"""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from mydata_operator.celery import app

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.fail(
            "services tests need PostgreSQL: set DATABASE_URL=postgres://... (see `make help`)"
        )
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def other_connection() -> "psycopg.Connection[Any]":
    """A second connection to the test database, beside Django's (autocommit): what another
    process of the service would see, or a stand-in for the server's administrator."""
    return psycopg.connect(_database_url(), autocommit=True)


@pytest.fixture
def worker(committed_db: None, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Start `celery worker` on a queue of this test's own, so stale messages never interfere."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.fail(
            "services tests need a real broker: set CELERY_BROKER_URL=redis://... or amqp://"
        )
    queue = f"tahto-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "TAHTO_KEY_DIR": str(settings.TAHTO_KEY_DIR),
        "TAHTO_VAR_DIR": str(tmp_path),
    }
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(  # noqa: S603 - a fixed argv: this interpreter running celery
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mydata_operator",
            "worker",
            "-Q",
            queue,
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        wait_for(lambda: "ready." in (tmp_path / "worker.log").read_text(), 60, "worker start")
        yield proc
    finally:
        app.conf.task_default_queue = previous
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")
