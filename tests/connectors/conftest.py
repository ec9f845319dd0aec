"""Fixtures of the connector tests: a webhook receiver, endpoints, and an in-process pump."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connectors import follower, outbox
from connectors.models import Endpoint, OutboxItem
from consents.log import log_integrate
from tests.conftest import PROVIDER_OID
from tests.fixtures.live import ROOT


@dataclass
class WebhookReceiver:
    """An HTTP server on loopback that records what it receives and answers `status`."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 204


@pytest.fixture
def webhook_receiver(settings: Any) -> Iterator[WebhookReceiver]:
    """A receiver on loopback http; only the test-only TAHTO_WEBHOOK_ALLOW_LOOPBACK lets the
    webhook connector send to it (by default loopback and http are refused)."""
    settings.TAHTO_WEBHOOK_ALLOW_LOOPBACK = True
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.received.append({"headers": dict(self.headers), "body": body})
            self.send_response(receiver.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/consents"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def provider_webhook(db: Any, webhook_receiver: WebhookReceiver) -> Endpoint:
    return Endpoint.objects.create(
        organisation_id=PROVIDER_OID, kind=Endpoint.Kind.WEBHOOK, url=webhook_receiver.url
    )


@pytest.fixture
def provider_fhir(db: Any, provider_fhir_server: Any) -> Any:
    provider_fhir_server.clear_faults()
    Endpoint.objects.create(
        organisation_id=PROVIDER_OID, kind=Endpoint.Kind.FHIR, url=provider_fhir_server.url
    )
    return provider_fhir_server


def pump(connector: str | None = None) -> dict[int, str]:
    """Do in-process what the integrator and the worker do: integrate the log, follow it,
    deliver every due item once."""
    log_integrate()
    follower.log_follow()
    items = OutboxItem.objects.filter(status=OutboxItem.Status.PENDING).order_by("id")
    if connector is not None:
        items = items.filter(connector=connector)
    return {pk: outbox.outbox_deliver(pk) for pk in items.values_list("id", flat=True)}


def json_body(request: dict[str, Any]) -> Any:
    return json.loads(request["body"])


# --- A real Celery worker that a test can start late, kill with SIGKILL and restart ----------


@dataclass
class ConnectorWorker:
    """`celery worker -P solo` (one process, so SIGKILL kills the task with it)."""

    queue: str
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _logs: list[Any] = field(default_factory=list)

    def start(self) -> None:
        from tests.services.conftest import wait_for

        self.starts += 1
        marker = f"=== start {self.starts}\n"
        with self.log_path.open("a") as text:
            text.write(marker)
        log = self.log_path.open("ab")
        self._logs.append(log)
        self.proc = subprocess.Popen(  # noqa: S603 - this interpreter running celery
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "mydata_operator",
                "worker",
                "-Q",
                self.queue,
                "-P",
                "solo",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: "ready." in self.log().split(marker)[-1], 60, "the worker to start")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no acknowledgement, as when a machine dies."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for log in self._logs:
            log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def connector_worker(
    committed_db: None, tmp_path: Path, kanta_server: Any, settings: Any
) -> Iterator[ConnectorWorker]:
    """A worker on this test's own queue, pointed at the stand-in; not started yet."""
    from django.conf import settings as live_settings

    from mydata_operator.celery import app
    from tests.services.conftest import _database_url

    if live_settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.fail("services tests need a real broker: set CELERY_BROKER_URL=redis://...")
    kanta_server.clear_faults()
    settings.TAHTO_KANTA_URL = kanta_server.url
    queue = f"tahto-connectors-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "TAHTO_KEY_DIR": str(live_settings.TAHTO_KEY_DIR),
        "TAHTO_VAR_DIR": str(tmp_path),
        "TAHTO_KANTA_URL": kanta_server.url,
        "TAHTO_CONNECTOR_TIMEOUT": "10",
        "TAHTO_WEBHOOK_ALLOW_LOOPBACK": "1",  # its webhook receiver listens on loopback http
        "TAHTO_OUTBOX_BACKOFF_SECONDS": "0.5",
        "TAHTO_OUTBOX_BACKOFF_MAX_SECONDS": "2",
        "TAHTO_OUTBOX_CLAIM_TIMEOUT_SECONDS": "3",
        "PYTHONUNBUFFERED": "1",
    }
    worker = ConnectorWorker(queue, env, tmp_path / "worker.log")
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield worker
    finally:
        app.conf.task_default_queue = previous
        worker.stop()
        kanta_server.clear_faults()


def sweep_until(check: Any, seconds: float, what: str) -> None:
    """Ask the worker to integrate the log and sweep once a second until `check()` holds."""
    from connectors.tasks import outbox_sweep_task
    from consents.tasks import log_integrate_task

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        log_integrate_task.delay()  # what the integrator process does in `make run`
        outbox_sweep_task.delay()
        time.sleep(1)
    if not check():
        raise AssertionError(f"timed out after {seconds} s waiting for {what}")
