"""The FHIR client keeps its connections open: one TCP connection for many calls per thread."""

import threading
from typing import Any

import requests

from connectors.http import pooled_session
from connectors.kanta.client import kanta_client
from tests.fixtures.kanta import KantaStandIn


def _connections_opened(session: requests.Session, url: str) -> int:
    adapter = session.get_adapter(url)
    pool = adapter.poolmanager.connection_from_url(url)  # type: ignore[attr-defined]
    return int(pool.num_connections)


def test_kanta_calls_reuse_one_kept_alive_connection(kanta: KantaStandIn, db: Any) -> None:
    client = kanta_client()
    opened_before = _connections_opened(client.session, client.base_url)
    for _ in range(5):
        client.search("Condition", patient="urn:oid:1.2.246.21|010101-123N")
    # Another client on this thread shares the session and its open connection.
    kanta_client().search("Condition", patient="urn:oid:1.2.246.21|010101-123N")
    assert _connections_opened(client.session, client.base_url) - opened_before <= 1


def test_each_thread_has_its_own_session() -> None:
    seen: list[requests.Session] = []
    worker = threading.Thread(target=lambda: seen.append(pooled_session()))
    worker.start()
    worker.join()
    assert pooled_session() is pooled_session()
    assert seen[0] is not pooled_session()
